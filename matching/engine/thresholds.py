"""The threshold that meets a target false-alert rate per passer-by, from a pack's calibration.

Reads the calibration JSON that `calibration.calibrate_pack` writes (format 2; see that module for how it is
measured) and answers two questions for a deployment:

- `propose`: the lowest calibrated threshold at which the 95% upper bound of false alerts per passer-by, for this
  watchlist size, imaging condition and confirmation rule, is at most the target; with the expected share of listed
  people found. The bound, not the point estimate: a target is a ceiling, and a threshold chosen where the point
  estimate just meets it lands above the target on new people about half the time (on lfw-dev's held-out people the
  point-estimate choice for 1,000 entries let 4 in 1,000 alert on real galleries; the bound's let none).
- `estimate`: the same figures at a threshold someone chose.

Where the figures come from. The thresholds are chosen on the calibration's "choose" part (half of the people,
split by identity); the share of listed people found and the false alerts measured on the other half ("report"),
which no threshold was chosen on, are shown beside them, so a reader sees how the choice held on new people.

Per look and per passer-by. The calibration measures one look: one image of a face compared with every entry of a
gallery of N (the open-set false positive identification rate, FPIR). A passer-by gives several looks. With a
confirmation rule of k >= 2 frames an alert needs the same entry at or above the threshold in k frames of one
track, and those looks are of one face seconds apart, so the rate per look is the bound per passer-by. With k = 1
every look is a chance: per passer-by 1 - (1 - p)^L for L looks (policy: LFR_LOOKS_PER_PASSER_BY), which treats the
looks as independent, the cautious side.

The upper bound comes from the impostor comparisons: the one-sided 95% Clopper-Pearson bound of the false match rate
per comparison, f, carried to a gallery of N as 1 - (1 - f)^N. Where no impostor comparison scored at or above the
threshold the point estimate is 0 and only the bound says anything; `measurable` says whether the calibration had
enough comparisons to show a rate as low as the target at all.

Pure Python and numpy-free on purpose: the web process imports this without the engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

CONDITIONS = ("colour", "greyscale")
DEFAULT_LOOKS_PER_PASSER_BY = 3


class CalibrationMissing(LookupError):
    """The calibration has no figures for this condition or enrolment."""


@dataclass(frozen=True)
class Operating:
    """The figures at one threshold for one deployment shape."""

    pack: str
    condition: str
    threshold: float
    watchlist_size: int
    images_per_entry: int
    confirmation_frames: int
    looks_per_passer_by: int
    per_look: float  # expected FPIR of one look (choose part)
    per_look_upper_95: float  # from the 95% bound of the false match rate per comparison (choose part)
    per_passer_by: float
    per_passer_by_upper_95: float
    tpir: float  # expected share of listed people found on one look (report part, held out)
    report_per_look: float  # FPIR measured on the held-out part at this threshold
    impostor_comparisons: int  # on the choose part
    measurable: bool  # whether those comparisons could show a rate per look as low as the target
    target: float | None  # the target this was proposed for; None for an estimate
    meets_target: bool | None
    source: str  # "pack yunet-sface, calibrated 2026-12-01 on lfw-dev (greyscale), choose part: 1,412 people"

    @property
    def is_bound(self) -> bool:
        """k >= 2: per passer-by is at most the figure; k = 1: about the figure."""
        return self.confirmation_frames >= 2

    def over_footfall(self, footfall: int) -> tuple[float, float]:
        """Expected false alerts over the expected footfall, and its upper bound."""
        return footfall * self.per_passer_by, footfall * self.per_passer_by_upper_95

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def _format_check(calibration: Mapping[str, Any]) -> None:
    if calibration.get("format") != 2:
        raise CalibrationMissing(
            f"The calibration of pack {calibration.get('pack', '?')} is in an old format: "
            "run manage.py calibrate_packs again.")


def _section(calibration: Mapping[str, Any], condition: str, images_per_entry: int) -> Mapping[str, Any]:
    _format_check(calibration)
    if condition not in CONDITIONS:
        raise CalibrationMissing(f"Unknown imaging condition {condition!r}: colour or greyscale.")
    enrolment = (calibration.get("conditions", {}).get(condition) or {}).get("enrolment") or {}
    wanted = str(enrolment_measured(calibration, condition, images_per_entry))
    if wanted not in enrolment:
        raise CalibrationMissing(f"Pack {calibration.get('pack', '?')} has no {condition} calibration.")
    return enrolment[wanted]


def enrolment_measured(calibration: Mapping[str, Any], condition: str, images_per_entry: int) -> int:
    """The enrolment the figures come from: 2 images per entry where measured (greyscale, lfw-dev), else 1 (colour:
    each UTKFace person has one image), which is the cautious side (two images find more listed people)."""
    enrolment = (calibration.get("conditions", {}).get(condition) or {}).get("enrolment") or {}
    return 2 if images_per_entry >= 2 and "2" in enrolment else 1


def _interpolate_size(curves: Mapping[str, Sequence[float]], sizes: Sequence[int], size: int, index: int) -> float:
    """The curve's value at `index` for a gallery of `size`, interpolated on log size between the stored sizes."""
    size = max(size, 1)
    values = [(n, float(curves[str(n)][index])) for n in sizes]
    if size <= values[0][0]:
        return values[0][1]
    for (n0, v0), (n1, v1) in zip(values, values[1:], strict=False):
        if size <= n1:
            w = (math.log(size) - math.log(n0)) / (math.log(n1) - math.log(n0))
            if v0 > 0 and v1 > 0:  # log-log: a small rate grows in proportion to the gallery
                return math.exp(math.log(v0) + w * (math.log(v1) - math.log(v0)))
            return v0 + w * (v1 - v0)
    # Beyond the largest stored size: the per-look rate grows at most linearly with the gallery.
    n_last, v_last = values[-1]
    return min(1.0, v_last * size / n_last) if v_last > 0 else 0.0


def per_passer_by(per_look: float, confirmation_frames: int, looks: int) -> float:
    if confirmation_frames >= 2:
        return per_look
    return -math.expm1(max(looks, 1) * math.log1p(-min(per_look, 1 - 1e-15)))


def _gallery_chance(fmr: float, size: int) -> float:
    if fmr <= 0 or size <= 0:
        return 0.0
    if fmr >= 1:
        return 1.0
    return -math.expm1(size * math.log1p(-fmr))


def _operating(calibration: Mapping[str, Any], *, condition: str, index: int, watchlist_size: int,
               images_per_entry: int, confirmation_frames: int, looks: int, target: float | None) -> Operating:
    section = _section(calibration, condition, images_per_entry)
    sizes = calibration["gallery_sizes"]
    choose, report = section["choose"], section["report"]
    per_look = _interpolate_size(choose["fpir"], sizes, watchlist_size, index)
    upper_fmr = float(choose["fmr_upper_95"][index])
    per_look_upper = max(per_look, _gallery_chance(upper_fmr, watchlist_size))
    comparisons = int(choose["impostor_comparisons"])
    passer = per_passer_by(per_look, confirmation_frames, looks)
    passer_upper = per_passer_by(per_look_upper, confirmation_frames, looks)
    per_look_target = None if target is None else _per_look_target(target, confirmation_frames, looks)
    # The lowest bound the choose part can give for this gallery: its bound with no false match at all (about 3 in
    # the number of comparisons). A target below it cannot be shown to be met, whatever the threshold.
    resolution = _gallery_chance(1 - 0.05 ** (1 / max(comparisons, 1)), watchlist_size)
    measurable = per_look_target is None or resolution <= per_look_target
    return Operating(
        pack=str(calibration["pack"]), condition=condition, threshold=float(calibration["grid"][index]),
        watchlist_size=watchlist_size, images_per_entry=enrolment_measured(calibration, condition, images_per_entry),
        confirmation_frames=confirmation_frames, looks_per_passer_by=looks,
        per_look=per_look, per_look_upper_95=per_look_upper, per_passer_by=passer, per_passer_by_upper_95=passer_upper,
        tpir=_interpolate_size(report["tpir"], sizes, watchlist_size, index),
        report_per_look=_interpolate_size(report["fpir"], sizes, watchlist_size, index),
        impostor_comparisons=comparisons, measurable=measurable, target=target,
        meets_target=None if target is None else passer_upper <= target,
        source=source_text(calibration, condition, images_per_entry),
    )


def _per_look_target(target: float, confirmation_frames: int, looks: int) -> float:
    if confirmation_frames >= 2:
        return target
    return -math.expm1(math.log1p(-min(target, 1 - 1e-15)) / max(looks, 1))


def source_text(calibration: Mapping[str, Any], condition: str, images_per_entry: int) -> str:
    section = _section(calibration, condition, images_per_entry)
    dataset = calibration["conditions"][condition]["dataset"]
    measured = enrolment_measured(calibration, condition, images_per_entry)
    return (f"pack {calibration['pack']}, calibrated {str(calibration['created'])[:10]} on {dataset} "
            f"({condition}), {measured} image{'s' if measured > 1 else ''} per entry; chosen on "
            f"{section['choose']['identities']:,} people, checked on {section['report']['identities']:,} others")


def propose(calibration: Mapping[str, Any], *, condition: str, watchlist_size: int, target: float,
            confirmation_frames: int = 2, looks: int = DEFAULT_LOOKS_PER_PASSER_BY,
            images_per_entry: int = 1) -> Operating:
    """The lowest calibrated threshold whose 95% upper bound meets `target` false alerts per passer-by; where none
    does (a target below what the calibration can show: `measurable` is False), the lowest threshold with the
    smallest bound."""
    if not (0 < target < 1) or math.isnan(target):
        raise ValueError("The target false alerts per passer-by must be between 0 and 1, e.g. 0.001.")
    if watchlist_size < 1:
        raise ValueError("The watchlist size must be at least 1.")
    grid = calibration.get("grid") or []
    chosen, smallest = len(grid) - 1, math.inf
    for index in range(len(grid)):
        point = _operating(calibration, condition=condition, index=index, watchlist_size=watchlist_size,
                           images_per_entry=images_per_entry, confirmation_frames=confirmation_frames,
                           looks=looks, target=target)
        if point.meets_target:
            chosen = index
            break
        if point.per_passer_by_upper_95 < smallest - 1e-15:
            chosen, smallest = index, point.per_passer_by_upper_95
    # Thresholds are set and shown in hundredths: a proposal between two is rounded up (the cautious side).
    while chosen + 1 < len(grid) and abs(grid[chosen] * 100 - round(grid[chosen] * 100)) > 1e-6:
        chosen += 1
    return _operating(calibration, condition=condition, index=chosen, watchlist_size=watchlist_size,
                      images_per_entry=images_per_entry, confirmation_frames=confirmation_frames, looks=looks,
                      target=target)


def estimate(calibration: Mapping[str, Any], *, condition: str, threshold: float, watchlist_size: int,
             confirmation_frames: int = 2, looks: int = DEFAULT_LOOKS_PER_PASSER_BY,
             images_per_entry: int = 1, target: float | None = None) -> Operating:
    """The figures at `threshold`, read at the highest calibrated threshold not above it (never an underestimate);
    with a `target`, whether it meets it and whether the calibration can show so low a rate."""
    if math.isnan(threshold):
        raise ValueError("The threshold is not a number.")
    grid = calibration.get("grid") or []
    _format_check(calibration)
    index = max((i for i, t in enumerate(grid) if t <= threshold + 1e-9), default=0)
    return _operating(calibration, condition=condition, index=index, watchlist_size=max(watchlist_size, 1),
                      images_per_entry=images_per_entry, confirmation_frames=confirmation_frames, looks=looks,
                      target=target)


def equitability(calibration: Mapping[str, Any], threshold: float) -> list[dict[str, Any]]:
    """Rows of the equitability table at the highest calibrated threshold not above `threshold`: per demographic
    group of the colour impostor set, its false match rate per comparison and the ratio to the overall rate."""
    _format_check(calibration)
    table = calibration.get("equitability") or {}
    grid = table.get("grid") or []
    if not grid:
        return []
    index = max((i for i, t in enumerate(grid) if t <= threshold + 1e-9), default=0)
    overall = table["overall"]
    overall_fmr = overall["false_matches"][index] / max(overall["pairs"], 1)
    rows = [{"attribute": "all", "group": "all", "images": overall["images"], "pairs": overall["pairs"],
             "false_matches": overall["false_matches"][index], "fmr": overall_fmr, "ratio": 1.0 if overall_fmr else None,
             "threshold": grid[index]}]
    for group in table["groups"]:
        fmr = group["false_matches"][index] / max(group["pairs"], 1)
        rows.append({"attribute": group["attribute"], "group": group["group"], "images": group["images"],
                     "pairs": group["pairs"], "false_matches": group["false_matches"][index], "fmr": fmr,
                     "ratio": (fmr / overall_fmr) if overall_fmr else None, "threshold": grid[index]})
    return rows
