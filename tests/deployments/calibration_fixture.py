"""A synthetic format-2 calibration, with exactly the keys matching/engine/thresholds.py reads.

The false match rate per comparison falls tenfold every 0.04 * ln(10) of threshold (fmr(t) = 0.05 e^-(t - 0.2)/0.04);
greyscale frames behave like colour frames 0.05 lower; as in the real files only greyscale measures two images per
entry (colour reads its one-image figures for any list), and here two images double the chances. So the proposal
is known in closed form: for a gallery of N, one look's rate is 1 - (1 - fmr)^N, about N x fmr. Colour has 20 million
impostor comparisons (it can show rates as low as 1 in 1,000 for 20,000 entries), greyscale 500,000 (not even for
1,000 entries): `measurable` then differs between them. No real person's data: the groups are labels.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

GRID = [round(0.20 + 0.01 * i, 2) for i in range(61)]  # 0.20 .. 0.80
GALLERY_SIZES = [1, 10, 100, 1000, 10000]
COMPARISONS = {"colour": 20_000_000, "greyscale": 500_000}
SHIFT = {"colour": 0.0, "greyscale": 0.05}
CREATED = "2026-12-01T10:00:00+00:00"
DATASET = "synthetic test faces"
ENROLMENTS = {"colour": (1,), "greyscale": (1, 2)}  # images per entry measured
EQUITABILITY_PAIRS = 10_000_000
# (attribute, group, images, impostor pairs, how many times the overall rate)
GROUPS = [
    ("sex", "female", 2_400, 4_000_000, 1.5),
    ("sex", "male", 2_600, 6_000_000, 0.8),
    ("age", "under 30", 1_800, 3_000_000, 1.2),
]


def fmr(threshold: float, condition: str = "colour", images_per_entry: int = 1) -> float:
    """The false match rate per comparison the fixture is built on."""
    rate = 0.05 * math.exp(-(threshold - 0.20 - SHIFT[condition]) / 0.04)
    return min(1.0, rate * images_per_entry)


def gallery_chance(rate: float, size: int) -> float:
    return -math.expm1(size * math.log1p(-min(rate, 1 - 1e-15))) if rate > 0 else 0.0


def _tpir(threshold: float, size: int) -> float:
    return max(0.0, 0.99 - 0.9 * ((threshold - 0.20) / 0.60) ** 3 - 0.01 * math.log10(size))


def _section(condition: str, images: int) -> dict:
    comparisons = COMPARISONS[condition]
    rates = [fmr(t, condition, images) for t in GRID]
    # A rule-of-three style upper bound: never below 3 / comparisons, where no impostor scored that high.
    upper = [_upper(t, condition, images) for t in GRID]
    return {
        "choose": {
            "identities": 1_412,
            "impostor_comparisons": comparisons,
            "false_matches": [round(r * comparisons) for r in rates],
            "fpir": {str(n): [gallery_chance(r, n) for r in rates] for n in GALLERY_SIZES},
            "fmr_upper_95": upper,
        },
        "report": {
            "identities": 1_398,
            "fpir": {str(n): [gallery_chance(r * 1.1, n) for r in rates] for n in GALLERY_SIZES},
            "tpir": {str(n): [_tpir(t, n) for t in GRID] for n in GALLERY_SIZES},
        },
    }


def calibration(pack: str = "yunet-sface") -> dict:
    """The whole format-2 calibration of `pack`."""
    overall = [round(fmr(t) * EQUITABILITY_PAIRS) for t in GRID]
    return {
        "format": 2,
        "pack": pack,
        "created": CREATED,
        "grid": GRID,
        "gallery_sizes": GALLERY_SIZES,
        "conditions": {
            condition: {"dataset": DATASET,
                        "enrolment": {str(k): _section(condition, k) for k in ENROLMENTS[condition]}}
            for condition in ("colour", "greyscale")
        },
        "equitability": {
            "grid": GRID,
            "overall": {"images": 5_000, "pairs": EQUITABILITY_PAIRS, "false_matches": overall},
            "groups": [
                {"attribute": attribute, "group": group, "images": images, "pairs": pairs,
                 "false_matches": [round(fmr(t) * times * pairs) for t in GRID]}
                for attribute, group, images, pairs, times in GROUPS
            ],
        },
    }


def write_calibrations(folder: Path, packs=("yunet-sface", "buffalo_s")) -> Path:
    """Writes `<pack>.json` for each pack into `folder` (the operator's LFR_CALIBRATION_DIR)."""
    folder.mkdir(parents=True, exist_ok=True)
    for pack in packs:
        (folder / f"{pack}.json").write_text(json.dumps(calibration(pack)), encoding="utf-8")
    return folder


def _upper(threshold: float, condition: str, images: int) -> float:
    return max(fmr(threshold, condition, images) * 1.2, 3 / COMPARISONS[condition])


def expected_proposal(size: int, *, condition: str = "colour", k: int = 2, looks: int = 3, target: float = 0.001,
                      images: int = 1) -> float:
    """The fixture's proposal worked out independently of thresholds.py: the lowest grid threshold whose 95% upper
    bound per passer-by is at most the target (per look for k >= 2; 1 - (1 - p)^looks for k = 1), the per-look
    point rate read at the stored gallery sizes on either side of `size` (interpolated on log size and log rate) and
    the bound carried from the bound per comparison, 1 - (1 - f)^N; where none meets it, the lowest threshold with
    the smallest bound."""
    images = images if images in ENROLMENTS[condition] else 1  # colour: the one-image figures for any list

    def per_passer_by(per_look: float) -> float:
        return per_look if k >= 2 else 1 - (1 - per_look) ** looks

    best, smallest = GRID[-1], math.inf
    for t in GRID:
        per_look = _interpolated(lambda n: gallery_chance(fmr(t, condition, images), n), size)
        upper = per_passer_by(max(per_look, gallery_chance(_upper(t, condition, images), size)))
        if upper <= target:
            return t
        if upper < smallest - 1e-15:
            best, smallest = t, upper
    return best


def _interpolated(curve, size: int) -> float:
    if size <= GALLERY_SIZES[0]:
        return curve(GALLERY_SIZES[0])
    for n0, n1 in zip(GALLERY_SIZES, GALLERY_SIZES[1:]):
        if size <= n1:
            w = (math.log(size) - math.log(n0)) / (math.log(n1) - math.log(n0))
            v0, v1 = curve(n0), curve(n1)
            if v0 > 0 and v1 > 0:  # log-log, as thresholds.py reads a small rate growing with the gallery
                return math.exp(math.log(v0) + w * (math.log(v1) - math.log(v0)))
            return v0 + w * (v1 - v0)
    return min(1.0, curve(GALLERY_SIZES[-1]) * size / GALLERY_SIZES[-1])
