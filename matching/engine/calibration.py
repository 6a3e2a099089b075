"""Calibrate a model pack on thousands of people: thresholds from a target false-alert rate, held-out figures.

Data (the shared faces folder, LFR_FACES_DIR; see its README):

- greyscale: `lfw-dev` (7,489 greyscale images of 2,824 people, loosely centred on one face);
- colour: `utk-dev` (4,889 colour crops, nearly all of different people: impostors) with the colour genuine pairs of
  `deepface` (61 images of 13 people);
- equitability: `utk-dev`'s labels (race, gender, age), impostor pairs within each group.

Split by identity. Every person falls in one part by a digest of their identity (an LFW name, a DeepFace person,
a UTKFace file): "choose" or "report". Thresholds are chosen on "choose" (thresholds.propose reads only its
curves); every figure said to be "held out" comes from "report", which no threshold was chosen on.

Open-set figures for a gallery of N, per part and enrolment (1 image, or the normalised mean of 2):

- every image with a detected face is a probe; the gallery pool is one template per person whose enrolment images
  pass the quality gate (the first 1 or 2, in file order), as a watchlist's would have to;
- a probe's false match rate f_p(t) is the share of other people's templates scoring >= t against it. Over random
  galleries of N drawn from people like these, its chance of a false alert is 1 - (1 - f_p)^N, and the FPIR at N
  is the mean over probes (a probe never meets its own template);
- a mated probe (an image of a person with a template, not one of that template's images) is found at N when its
  genuine score g >= t and none of the N - 1 other entries scores above g: [g >= t] (1 - b_p)^(N - 1), with b_p the
  share of other templates scoring above g. TPIR at N is the mean over mated probes;
- the false match rate per comparison (all probe x other-template pairs) and its one-sided 95% Clopper-Pearson
  upper bound, which is what says anything where no comparison scored at or above a threshold.

A gallery check: real galleries of N people from the report part (four rotations, so that every person is off the
list in at least one), every other person's images searched against each, alerts counted at a threshold.

Outputs hold counts, rates, thresholds and, for the top impostor scores, dataset file names (public figures of LFW,
for a person to look at by eye): never an image, a crop or a template. Templates live in memory for the run only.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import packs, thresholds
from .config import EngineConfig
from .crops import face_in_crop
from .engine import FaceEngine, load_engine
from .face import Face
from .images import decode_image, to_greyscale_bgr
from .quality import assess

FORMAT = 2
GRID = [round(0.10 + 0.005 * i, 3) for i in range(171)]  # 0.100 .. 0.950
GALLERY_SIZES = [1, 10, 30, 100, 300, 1000, 2000, 3000, 5000, 10000]
REPORT_SIZES = (100, 1000)
TARGETS = (1e-3, 1e-4)
PARTS = ("choose", "report")
DEFAULT_PROPOSAL = {"watchlist_size": 1000, "target": 1e-3, "confirmation_frames": 2}
AGE_BANDS = ((0, 18, "under_18"), (18, 25, "18_24"), (25, 35, "25_34"), (35, 45, "35_44"), (45, 55, "45_54"),
             (55, 65, "55_64"), (65, 200, "65_plus"))
NO_FACE = "no_face"
TOP_IMPOSTORS = 12
EMBED_BATCH = 64


def part_of(identity: str) -> str:
    """The part a person falls in: fixed by a digest of their identity, about half each."""
    return PARTS[hashlib.sha256(identity.encode("utf-8")).digest()[0] % 2]


def age_band(age: int) -> str:
    return next(label for low, high, label in AGE_BANDS if low <= age < high)


# --- Reading the data sets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    key: str  # path inside the data set's folder
    identity: str


def read_lfw(faces_dir: Path) -> list[Image]:
    folder = Path(faces_dir) / "lfw-dev"
    with open(folder / "identities.csv", newline="") as stream:
        return [Image(row["path"], row["identity"]) for row in csv.DictReader(stream)]


def read_utk(faces_dir: Path) -> list[tuple[Image, dict[str, str]]]:
    """UTKFace crops, each its own identity, with their labels (race, gender, age band)."""
    folder = Path(faces_dir) / "utk-dev"
    with open(folder / "labels.csv", newline="") as stream:
        return [(Image(row["path"], "utk:" + row["path"]),
                 {"race": row["race"], "gender": row["gender"], "age_band": age_band(int(row["age"]))})
                for row in csv.DictReader(stream)]


def read_deepface(faces_dir: Path) -> list[Image]:
    folder = Path(faces_dir) / "deepface"
    with open(folder / "identities.csv", newline="") as stream:
        return [Image(row["file"], "deepface:" + row["identity"]) for row in csv.DictReader(stream)]


# --- Label errors: one person under two identities ------------------------------------------------------

SAME_PHOTOGRAPH = 0.98  # correlation of 24x24 greyscale thumbnails at or above which two files are one photograph


def name_tokens(identity: str) -> frozenset[str]:
    return frozenset(token for token in identity.replace("-", "_").lower().split("_") if token)


def same_photographs(folder: Path, images: Sequence[Image], cut: float = SAME_PHOTOGRAPH) -> list[tuple[str, str]]:
    """Pairs of files (of different identities) that are one photograph, by pixels alone (never by the model):
    the normalised correlation of their 24x24 greyscale thumbnails is at least `cut`."""
    import cv2

    rows = []
    for image in images:
        pixels = decode_image((Path(folder) / image.key).read_bytes())
        grey = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(grey, (24, 24), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
        thumb -= thumb.mean()
        rows.append(thumb / max(float(np.linalg.norm(thumb)), 1e-6))
    matrix = np.vstack(rows)
    pairs = []
    for start in range(0, len(images), 1024):
        block = matrix[start:start + 1024] @ matrix.T
        for i, j in zip(*np.nonzero(block >= cut), strict=True):
            a, b = images[start + i], images[j]
            if start + i < j and a.identity != b.identity:
                pairs.append((a.key, b.key))
    return pairs


def merged_identities(folder: Path, images: Sequence[Image], *, by_name: bool) -> tuple[list[Image], dict]:
    """The images with label errors mended: identities whose names hold the same words in another order (LFW's
    "Choi_Sung-hong" and "Sung_Hong_Choi") and identities sharing one photograph are one person. Found without the
    face model, so the mending cannot flatter it; what was merged is reported."""
    parent: dict[str, str] = {}

    def find(identity: str) -> str:
        while parent.get(identity, identity) != identity:
            identity = parent[identity]
        return identity

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    name_merges = []
    if by_name:
        by_tokens: dict[frozenset[str], list[str]] = defaultdict(list)
        for identity in sorted({image.identity for image in images}):
            by_tokens[name_tokens(identity)].append(identity)
        for names in by_tokens.values():
            for other in names[1:]:
                union(names[0], other)
                name_merges.append([names[0], other])
    key_identity = {image.key: image.identity for image in images}
    photographs = same_photographs(folder, images)
    for a, b in photographs:
        union(key_identity[a], key_identity[b])
    mended = [Image(image.key, find(image.identity)) for image in images]
    before, after = len({i.identity for i in images}), len({i.identity for i in mended})
    return mended, {"name_order": name_merges, "same_photograph_pairs": len(photographs),
                    "identities_before": before, "identities_after": after}


# --- Measuring images --------------------------------------------------------------------------------


@dataclass
class Measured:
    """One image as the engine saw it: its subject's template (None: no face) and the quality gate's verdict."""

    template: np.ndarray | None
    reason: str  # QualityReason value, or "no_face"
    accepted: bool


def subject_face(faces: Sequence[Face], image_shape: tuple[int, ...]) -> Face:
    """Where the gate named no subject (several faces of similar size): the face nearest the image's centre."""
    height, width = image_shape[:2]

    def distance(face: Face) -> float:
        x1, y1, x2, y2 = face.box
        return ((x1 + x2) / 2 - width / 2) ** 2 + ((y1 + y2) / 2 - height / 2) ** 2

    return min(faces, key=distance)


def measure_images(engine: FaceEngine, folder: Path, images: Sequence[Image], *, crops: bool = False,
                   greyscale: bool = False, progress: Callable[[str], None] | None = None,
                   label: str = "") -> dict[str, Measured]:
    """Detect, judge (the enrolment quality gate) and embed each image's subject. `crops`: tight crops, detected
    inside a border as the `detections` path does (crops.face_in_crop)."""
    results: dict[str, Measured] = {}
    pending: list[tuple[str, np.ndarray, str, bool]] = []

    def flush() -> None:
        if not pending:
            return
        embeddings = engine.embed([crop for _, crop, _, _ in pending])
        for (key, _, reason, accepted), template in zip(pending, embeddings, strict=True):
            results[key] = Measured(np.asarray(template, dtype=np.float32), reason, accepted)
        pending.clear()

    for number, image in enumerate(images, start=1):
        pixels = decode_image((Path(folder) / image.key).read_bytes())
        if greyscale:
            pixels = to_greyscale_bgr(pixels)
        if crops:
            found = face_in_crop(engine, pixels)
            faces = [] if found is None else [found[1]]
            pixels = pixels if found is None else found[0]
        else:
            faces = engine.detect(pixels)
        if not faces:
            results[image.key] = Measured(None, NO_FACE, False)
        else:
            verdict = assess(faces, lambda face, p=pixels: engine.align(p, face), engine.quality_policy)
            face = verdict.face or subject_face(faces, pixels.shape)
            pending.append((image.key, engine.align(pixels, face), str(verdict.reason), verdict.accepted))
            if len(pending) >= EMBED_BATCH:
                flush()
        if progress and number % 500 == 0:
            progress(f"    {label}: {number:,} of {len(images):,} images")
    flush()
    return results


# --- Open-set measurement -----------------------------------------------------------------------------


def normalised(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


@dataclass
class Enrolled:
    """A gallery pool (one template per person) and the probes searched against it."""

    gallery_ids: list[str]
    gallery: np.ndarray  # (M, d)
    enrolment_keys: set[str]  # the images the templates were made from
    probe_keys: list[str]
    probe_ids: list[str]
    probes: np.ndarray  # (P, d)
    # (probe key, gallery identity) pairs that are no impostor comparison: another pack matched them with confidence
    excluded: frozenset[tuple[str, str]] = frozenset()

    @property
    def identities(self) -> int:
        return len(set(self.probe_ids) | set(self.gallery_ids))


def enrol(images: Sequence[Image], measured: Mapping[str, Measured], *, per_entry: int,
          may_enrol: Callable[[Image], bool] = lambda image: True,
          excluded: frozenset[tuple[str, str]] = frozenset()) -> Enrolled:
    """Templates from the first `per_entry` gate-passing images of each person (their normalised mean), and every
    image with a face as a probe."""
    by_person: dict[str, list[Image]] = defaultdict(list)
    for image in images:
        if measured[image.key].accepted and may_enrol(image):
            by_person[image.identity].append(image)
    gallery_ids, rows, enrolment = [], [], set()
    for identity, own in by_person.items():
        if len(own) >= per_entry:
            chosen = own[:per_entry]
            rows.append(normalised(np.mean([measured[i.key].template for i in chosen], axis=0)))
            gallery_ids.append(identity)
            enrolment |= {i.key for i in chosen}
    probes = [image for image in images if measured[image.key].template is not None]
    dim = next((m.template.shape[0] for m in measured.values() if m.template is not None), 128)
    return Enrolled(
        gallery_ids, np.vstack(rows) if rows else np.empty((0, dim), np.float32), enrolment,
        [p.key for p in probes], [p.identity for p in probes],
        np.vstack([measured[p.key].template for p in probes]) if probes else np.empty((0, dim), np.float32),
        excluded)


def fmr_upper_95(false_matches: np.ndarray | int, comparisons: int) -> np.ndarray:
    """One-sided 95% Clopper-Pearson upper bound of a false match rate (vectorised over false_matches)."""
    from scipy.stats import beta

    matches = np.asarray(false_matches, dtype=np.float64)
    if comparisons <= 0:
        return np.ones_like(matches)
    bound = beta.ppf(0.95, matches + 1, np.maximum(comparisons - matches, 1e-9))
    return np.where(matches >= comparisons, 1.0, bound)


def gallery_chance(rate: np.ndarray, size: int) -> np.ndarray:
    """1 - (1 - rate)^size, exact where the rate is tiny."""
    rate = np.clip(np.asarray(rate, dtype=np.float64), 0.0, 1.0 - 1e-15)
    return -np.expm1(size * np.log1p(-rate))


def open_set(enrolled: Enrolled, grid: Sequence[float] = GRID, sizes: Sequence[int] = GALLERY_SIZES,
             *, top: int = TOP_IMPOSTORS) -> dict[str, Any]:
    """FPIR and TPIR curves at each gallery size, the false match rate per comparison, rank-1, top impostors."""
    grid_array = np.asarray(grid, dtype=np.float64)
    gallery_index = {identity: n for n, identity in enumerate(enrolled.gallery_ids)}
    scores = (enrolled.probes @ enrolled.gallery.T).astype(np.float64)  # (P, M)
    own = np.full(len(enrolled.probe_ids), -1)
    for p, identity in enumerate(enrolled.probe_ids):
        own[p] = gallery_index.get(identity, -1)
    has_own = own >= 0
    genuine = np.where(has_own, scores[np.arange(len(own)), np.maximum(own, 0)], np.nan)
    impostor = scores.copy()
    impostor[has_own, own[has_own]] = -np.inf
    others = len(enrolled.gallery_ids) - has_own.astype(int)  # M_p
    probe_index = {key: p for p, key in enumerate(enrolled.probe_keys)}
    for probe_key, identity in enrolled.excluded:
        p, m = probe_index.get(probe_key), gallery_index.get(identity)
        if p is not None and m is not None and m != own[p] and np.isfinite(impostor[p, m]):
            impostor[p, m] = -np.inf
            others[p] -= 1
    ranked = np.sort(impostor, axis=1)
    at_or_above = np.stack([ranked.shape[1] - np.searchsorted(row, grid_array, side="left") for row in ranked]) \
        if len(ranked) else np.zeros((0, len(grid_array)))
    rates = at_or_above / np.maximum(others, 1)[:, None]
    comparisons = int(others.sum())
    false_matches = at_or_above.sum(axis=0).astype(int)
    mated = has_own & np.array([key not in enrolled.enrolment_keys for key in enrolled.probe_keys], dtype=bool)
    above_genuine = np.array([ranked.shape[1] - np.searchsorted(ranked[p], genuine[p], side="right")
                              for p in np.flatnonzero(mated)], dtype=np.float64)
    beaten = above_genuine / np.maximum(others[mated], 1)
    reached = genuine[mated][:, None] >= grid_array[None, :]
    fpir, tpir = {}, {}
    for size in sizes:
        fpir[str(size)] = [round(float(v), 8) for v in gallery_chance(rates, size).mean(axis=0)] \
            if len(rates) else [0.0] * len(grid_array)
        found = reached * (1 - beaten)[:, None] ** (size - 1) if mated.any() else np.zeros((0, len(grid_array)))
        tpir[str(size)] = [round(float(v), 6) for v in found.mean(axis=0)] if len(found) else [0.0] * len(grid_array)
    flat = np.argsort(impostor, axis=None)[::-1][:top]
    tops = [{"probe": enrolled.probe_keys[p], "entry": enrolled.gallery_ids[m], "score": round(float(scores[p, m]), 4)}
            for p, m in zip(*np.unravel_index(flat, impostor.shape), strict=True) if np.isfinite(impostor[p, m])]
    return {
        "identities": enrolled.identities,
        "templates": len(enrolled.gallery_ids),
        "probes": len(enrolled.probe_ids),
        "mated_probes": int(mated.sum()),
        "impostor_comparisons": comparisons,
        "false_matches": false_matches.tolist(),
        "fmr_upper_95": [float(f"{v:.4g}") for v in fmr_upper_95(false_matches, comparisons)],
        "fpir": fpir,
        "tpir": tpir,
        "rank1": round(float((above_genuine == 0).mean()), 6) if mated.any() else None,
        "top_impostors": tops,
    }


def gallery_check(enrolled: Enrolled, threshold: float, size: int, *, rotations: int = 4) -> dict[str, Any]:
    """Real galleries of `size` people from the pool (rotated so that each person is off the list in at least one):
    every image of someone not on the list is searched, and alerts (top score >= threshold) counted."""
    order = sorted(range(len(enrolled.gallery_ids)),
                   key=lambda n: hashlib.sha256(enrolled.gallery_ids[n].encode("utf-8")).hexdigest())
    pool = len(order)
    size = min(size, pool - 1)
    step = max(1, pool - size)  # people off the list in each rotation
    probe_ids = np.asarray(enrolled.probe_ids)
    trials = alerts = 0
    for rotation in range(rotations):
        start = (rotation * step) % pool
        listed = [order[(start + i) % pool] for i in range(size)]
        listed_ids = {enrolled.gallery_ids[n] for n in listed}
        off = np.array([identity not in listed_ids for identity in probe_ids])
        if not off.any():
            continue
        top = (enrolled.probes[off] @ enrolled.gallery[listed].T).max(axis=1)
        trials += int(off.sum())
        alerts += int((top >= threshold).sum())
    return {"gallery_size": size, "rotations": rotations, "threshold": threshold, "probes_searched": trials,
            "alerts": alerts, "rate": alerts / trials if trials else None}


def quality_counts(measured: Mapping[str, Measured]) -> dict[str, int]:
    return dict(Counter(m.reason for m in measured.values()).most_common())


def gate_check(images: Sequence[Image], measured: Mapping[str, Measured]) -> dict[str, dict[str, float]]:
    """Whether the quality gate's refusals are right: each image scored against its person's first accepted image,
    grouped by the gate's verdict on it. A refusal reason whose images match their own person as well as accepted
    ones do refuses good photographs; one whose images match worse keeps weak templates out of watchlists."""
    first: dict[str, str] = {}
    for image in images:
        if measured[image.key].accepted and image.identity not in first:
            first[image.identity] = image.key
    scores: dict[str, list[float]] = defaultdict(list)
    for image in images:
        anchor = first.get(image.identity)
        template = measured[image.key].template
        if anchor is None or anchor == image.key or template is None:
            continue
        scores[measured[image.key].reason].append(float(template @ measured[anchor].template))
    return {reason: {"images": len(values), "median_genuine_score": round(float(np.median(values)), 4),
                     "p10_genuine_score": round(float(np.quantile(values, 0.1)), 4)}
            for reason, values in sorted(scores.items(), key=lambda item: -len(item[1]))}


# --- Equitability ----------------------------------------------------------------------------------------


def equitability(templates: np.ndarray, labels: Sequence[Mapping[str, str]], grid: Sequence[float] = GRID,
                 *, identities: Sequence[str] | None = None,
                 excluded: Iterable[tuple[int, int]] = ()) -> dict[str, Any]:
    """False matches among impostor pairs (every pair of images of different identities) overall and within each
    demographic group (race and gender among adults; each age band), at each threshold of the grid."""
    grid_array = np.asarray(grid, dtype=np.float64)
    scores = templates @ templates.T
    if identities is not None:  # a pair of one identity (one photograph under two files) is no impostor pair
        ids = np.asarray(identities)
        scores = np.where(ids[:, None] == ids[None, :], np.nan, scores)
    for i, j in excluded:  # pairs another pack matched with confidence: no impostor pair either
        scores[i, j] = scores[j, i] = np.nan

    def counted(index: np.ndarray) -> tuple[int, list[int]]:
        sub = scores[np.ix_(index, index)]
        upper = sub[np.triu_indices(len(index), k=1)].astype(np.float64)
        upper = np.sort(upper[~np.isnan(upper)])
        return len(upper), (len(upper) - np.searchsorted(upper, grid_array, side="left")).astype(int).tolist()

    everyone = np.arange(len(labels))
    pairs, matches = counted(everyone)
    groups = []
    for attribute in ("race", "gender", "age_band"):
        values = sorted({label[attribute] for label in labels})
        for value in values:
            # Race and gender among adults: watchlists hold adults, and children (who look alike to every pack, and
            # are a larger share of some groups of this set than of others) would otherwise decide those rows.
            index = np.array([n for n, label in enumerate(labels) if label[attribute] == value
                              and (attribute == "age_band" or label.get("age_band") != "under_18")])
            if len(index) < 2:
                continue
            group_pairs, group_matches = counted(index)
            groups.append({"attribute": attribute, "group": value, "images": len(index), "pairs": group_pairs,
                           "false_matches": group_matches})
    return {"grid": list(grid), "overall": {"images": len(labels), "pairs": pairs, "false_matches": matches},
            "groups": groups}


# --- One pack ----------------------------------------------------------------------------------------------


def _by_part(images: Iterable[Image]) -> dict[str, list[Image]]:
    parts: dict[str, list[Image]] = {part: [] for part in PARTS}
    for image in images:
        parts[part_of(image.identity)].append(image)
    return parts


def operating_points(calibration: Mapping[str, Any], condition: str) -> list[dict[str, Any]]:
    """For each enrolment, gallery size and target: the threshold chosen on "choose", and the held-out figures."""
    section = calibration["conditions"][condition]
    rows = []
    for per_entry, parts in section["enrolment"].items():
        report = parts["report"]
        for size in REPORT_SIZES:
            for target in TARGETS:
                chosen = thresholds.propose(calibration, condition=condition, watchlist_size=size, target=target,
                                            confirmation_frames=2, images_per_entry=int(per_entry))
                index = GRID.index(chosen.threshold)
                upper = float(gallery_chance(np.array([report["fmr_upper_95"][index]]), size)[0])
                rows.append({
                    "images_per_entry": int(per_entry), "watchlist_size": size, "target": target,
                    "threshold": chosen.threshold, "measurable": chosen.measurable,
                    "choose_fpir": chosen.per_look,
                    "report_fpir": report["fpir"][str(size)][index], "report_fpir_upper_95": upper,
                    "report_tpir": report["tpir"][str(size)][index],
                })
    return rows


@dataclass
class PackRun:
    """One pack's measurements (templates in memory for the run only) and its greyscale figures."""

    engine: FaceEngine
    calibration: dict[str, Any]
    utk_rows: list[tuple[Image, dict[str, str]]]
    utk_measured: dict[str, Measured]
    deepface: list[Image]
    deepface_measured: dict[str, Measured]
    pools: dict[tuple[str, str], Enrolled]

    @property
    def same_person_level(self) -> float:
        """This pack's typical score for two photographs of one person: the median genuine score of lfw-dev's
        accepted images (quality_gate_check). Two different people of lfw-dev never scored as high."""
        check = self.calibration["conditions"]["greyscale"]["quality_gate_check"]
        return float(check.get("accepted", {}).get("median_genuine_score", 1.0))

    def same_person_pairs(self) -> list[tuple[str, str]]:
        """Pairs of colour files this pack scores at or above its same-person level: taken as one person, not an
        impostor pair, when another pack is calibrated (utk-dev repeats some people, e.g. actors photographed at
        different ages, and some are deepface's people too). Pairs only, never chained into groups."""
        images = [image for image, _ in self.utk_rows] + self.deepface
        measured = {**self.utk_measured, **self.deepface_measured}
        keys = [image.key for image in images if measured[image.key].template is not None]
        matrix = np.vstack([measured[key].template for key in keys])
        scores = np.triu(matrix @ matrix.T, k=1)
        return [(keys[i], keys[j]) for i, j in zip(*np.nonzero(scores >= self.same_person_level), strict=True)]


def measure_pack(engine: FaceEngine, faces_dir: Path, *, limit: int | None = None,
                 progress: Callable[[str], None] = print) -> PackRun:
    """Measure every image of the three data sets with this pack, and work out the greyscale (lfw-dev) figures."""
    import onnx
    import onnxruntime

    faces_dir = Path(faces_dir)
    lfw = read_lfw(faces_dir)[:limit]
    utk_rows = read_utk(faces_dir)[:limit]
    deepface = read_deepface(faces_dir)
    utk = [image for image, _ in utk_rows]
    progress(f"  {engine.pack.id}: measuring {len(lfw):,} lfw-dev, {len(utk):,} utk-dev and {len(deepface)} "
             "deepface images")
    lfw_measured = measure_images(engine, faces_dir / "lfw-dev", lfw, progress=progress, label="lfw-dev")
    utk_measured = measure_images(engine, faces_dir / "utk-dev", utk, crops=True, progress=progress, label="utk-dev")
    deepface_measured = measure_images(engine, faces_dir / "deepface", deepface, label="deepface")
    calibration: dict[str, Any] = {
        "format": FORMAT,
        "pack": engine.pack.id,
        "pack_name": engine.pack.name,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "software": {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__},
        "files": {spec.filename: spec.sha256 for spec in engine.pack.files.values()},
        "split": "by identity: sha256 of the identity (LFW name, DeepFace person, UTKFace file), first byte even: "
                 "choose; odd: report",
        "proposal_rule": "the lowest threshold whose 95% upper bound of false alerts per passer-by meets the target",
        "grid": GRID,
        "gallery_sizes": GALLERY_SIZES,
        "default_proposal": DEFAULT_PROPOSAL,
        "conditions": {},
    }
    # Greyscale: lfw-dev, one enrolment image and the mean of two.
    lfw, lfw_merges = merged_identities(faces_dir / "lfw-dev", lfw, by_name=True)
    parts = _by_part(lfw)
    grey: dict[str, Any] = {
        "dataset": "lfw-dev", "images": len(lfw), "identities": len({i.identity for i in lfw}),
        "label_errors_mended": lfw_merges,
        "images_with_face": sum(m.template is not None for m in lfw_measured.values()),
        "quality_gate": quality_counts(lfw_measured), "quality_gate_check": gate_check(lfw, lfw_measured),
        "enrolment": {},
    }
    pools: dict[tuple[str, str], Enrolled] = {}
    for per_entry in (1, 2):
        grey["enrolment"][str(per_entry)] = {}
        for part in PARTS:
            pools[str(per_entry), part] = enrolled = enrol(parts[part], lfw_measured, per_entry=per_entry)
            grey["enrolment"][str(per_entry)][part] = open_set(enrolled)
    calibration["conditions"]["greyscale"] = grey
    return PackRun(engine, calibration, utk_rows, utk_measured, deepface, deepface_measured, pools)


def finish_pack(run: PackRun, faces_dir: Path, others: Sequence[PackRun] = ()) -> dict[str, Any]:
    """The colour figures, the equitability table and the operating points, from a measured pack. `others`: packs
    measured in the same run, whose confident matches mend utk-dev's repeated people for this one."""
    calibration, utk_rows, utk_measured = run.calibration, run.utk_rows, run.utk_measured
    utk = [image for image, _ in utk_rows]
    # Colour: utk-dev impostors with the deepface genuine pairs, one enrolment image (each UTKFace person has one).
    # Watchlists hold adults (GOVERNANCE.md: children are not ordinarily included), so the gallery pool is the
    # adults; every crop, children's too, is a passer-by probing it.
    ages = {image.key: label["age_band"] for image, label in utk_rows}
    # Not between two children: children look alike to every pack, so a confident match between two children says
    # little about whether they are one child; their pairs stay impostor pairs (the cautious side). A teenager and
    # an adult matched with confidence are usually one person photographed at two ages.
    same_person = {pair: other.engine.pack.id for other in others for pair in other.same_person_pairs()
                   if ages.get(pair[0]) != "under_18" or ages.get(pair[1]) != "under_18"}
    utk, utk_merges = merged_identities(Path(faces_dir) / "utk-dev", utk, by_name=False)
    utk_merges["same_person_pairs_by_other_packs"] = {
        pack: sum(1 for by in same_person.values() if by == pack) for pack in sorted(set(same_person.values()))}
    colour_images = utk + run.deepface
    colour_measured = {**utk_measured, **run.deepface_measured}
    colour_parts = _by_part(colour_images)
    identity_of_key = {image.key: image.identity for image in colour_images}
    excluded = frozenset({(a, identity_of_key[b]) for a, b in same_person} | {(b, identity_of_key[a])
                                                                                for a, b in same_person})

    def adult(image: Image) -> bool:
        return ages.get(image.key, "adult") != "under_18"

    colour: dict[str, Any] = {
        "dataset": "utk-dev + deepface", "images": len(colour_images),
        "identities": len({i.identity for i in colour_images}),
        "label_errors_mended": {"utk-dev": utk_merges},
        "gallery_pool": "adults (18 and over) of utk-dev, and deepface; probes: every crop and image",
        "images_with_face": sum(m.template is not None for m in colour_measured.values()),
        "quality_gate": {"utk-dev": quality_counts(utk_measured), "deepface": quality_counts(run.deepface_measured)},
        "enrolment": {"1": {part: open_set(enrol(colour_parts[part], colour_measured, per_entry=1, may_enrol=adult,
                                                 excluded=excluded))
                            for part in PARTS}},
    }
    calibration["conditions"]["colour"] = colour
    for condition in ("greyscale", "colour"):
        calibration["conditions"][condition]["operating_points"] = operating_points(calibration, condition)
    default = thresholds.propose(calibration, condition="greyscale", watchlist_size=1000, target=1e-3)
    calibration["conditions"]["greyscale"]["gallery_check"] = gallery_check(run.pools["1", "report"],
                                                                            default.threshold, 1000)
    # Equitability: utk-dev, impostor pairs within each group.
    identity_of = {image.key: image.identity for image in utk}
    with_face = [(image, label) for image, label in utk_rows if utk_measured[image.key].template is not None]
    position = {image.key: n for n, (image, _) in enumerate(with_face)}
    calibration["equitability"] = {
        "dataset": "utk-dev (colour crops, labelled by race, gender and age; nearly every image a different person)",
        "crops_with_face": len(with_face), "crops": len(utk_rows),
        "excluded": f"pairs of one person: {utk_merges['same_photograph_pairs']} pairs of files that are one "
                    "photograph, and the pairs other packs scored as one person "
                    f"({utk_merges['same_person_pairs_by_other_packs']})",
        **equitability(np.vstack([utk_measured[image.key].template for image, _ in with_face]),
                       [label for _, label in with_face],
                       identities=[identity_of[image.key] for image, _ in with_face],
                       excluded=[(position[a], position[b]) for a, b in same_person
                                 if a in position and b in position]),
    }
    return calibration


def calibrate_pack(engine: FaceEngine, faces_dir: Path, *, limit: int | None = None,
                   progress: Callable[[str], None] = print) -> dict[str, Any]:
    """One pack alone (no other pack to mend utk-dev's repeated people)."""
    return finish_pack(measure_pack(engine, faces_dir, limit=limit, progress=progress), faces_dir)


# --- Reading, summarising, saving -------------------------------------------------------------------------


def load_calibration(calibration_dir: Path, pack_id: str) -> dict[str, Any]:
    """A pack's saved calibration (<calibration_dir>/<pack_id>.json), as written by main()."""
    path = Path(calibration_dir) / f"{pack_id}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"No calibration for pack {pack_id} at {path}: run manage.py calibrate_packs --pack {pack_id}."
        )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class FalseAlertEstimate:
    """The false match rate per comparison at a threshold (choose part), its bound, and comparisons behind it."""

    threshold: float
    fmr: float
    fmr_upper_95: float
    impostor_comparisons: int
    expected: float
    expected_upper_95: float


def expected_false_alerts(calibration: Mapping[str, Any], threshold: float, watchlist_size: int, footfall: int,
                          *, condition: str = "colour") -> FalseAlertEstimate:
    """watchlist size x footfall x the false match rate per comparison, read at the highest calibrated threshold not
    above the chosen one (never an underestimate); the figure per comparison, not per passer-by."""
    if calibration.get("format") != FORMAT:
        raise thresholds.CalibrationMissing(
            f"The calibration of pack {calibration.get('pack', '?')} is in an old format: run calibrate_packs again.")
    choose = calibration["conditions"][condition]["enrolment"]["1"]["choose"]
    grid = calibration["grid"]
    index = max((i for i, t in enumerate(grid) if t <= threshold + 1e-9), default=0)
    comparisons = int(choose["impostor_comparisons"])
    fmr = choose["false_matches"][index] / max(comparisons, 1)
    upper = float(choose["fmr_upper_95"][index])
    per = watchlist_size * footfall
    return FalseAlertEstimate(float(grid[index]), fmr, upper, comparisons, per * fmr, per * upper)


def default_thresholds(calibration: Mapping[str, Any]) -> dict[str, float]:
    """Per condition, the proposal for the default deployment shape (1,000 entries, 1 in 1,000, k = 2)."""
    shape = calibration.get("default_proposal", DEFAULT_PROPOSAL)
    return {condition: thresholds.propose(calibration, condition=condition, watchlist_size=shape["watchlist_size"],
                                          target=shape["target"],
                                          confirmation_frames=shape["confirmation_frames"]).threshold
            for condition in calibration["conditions"]}


def manifest_figures(calibration: Mapping[str, Any]) -> dict[str, Any]:
    """The thresholds and headline held-out figures a pack manifest records."""
    figures: dict[str, Any] = {"calibrated": calibration["created"][:10], "default_proposal": DEFAULT_PROPOSAL}
    defaults = default_thresholds(calibration)
    for condition, section in calibration["conditions"].items():
        report = section["enrolment"]["1"]["report"]
        index = GRID.index(defaults[condition])
        figures[condition] = {
            "dataset": section["dataset"], "threshold": defaults[condition],
            "held_out_fpir_1000": report["fpir"]["1000"][index], "held_out_tpir_1000": report["tpir"]["1000"][index],
            "held_out_people": report["identities"],
        }
    return figures


def update_manifest(calibration: Mapping[str, Any], manifest_dir: Path = packs.MANIFEST_DIR) -> Path:
    """Write the default thresholds and figures into the committed pack manifest (maintainers only)."""
    path = manifest_dir / f"{calibration['pack']}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["threshold"] = default_thresholds(calibration)
    data["validation"] = manifest_figures(calibration)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.3g}%"


def summary_lines(calibration: Mapping[str, Any]) -> list[str]:
    lines = [f"Pack {calibration['pack']} (calibrated {calibration['created'][:10]}); thresholds chosen on the "
             "'choose' people, figures on the held-out 'report' people"]
    for condition, section in calibration["conditions"].items():
        lines.append(f"  {condition} ({section['dataset']}: {section['images']:,} images, {section['identities']:,} "
                     f"people, {section['images_with_face']:,} with a face); quality gate: {section['quality_gate']}")
        for per_entry, parts in section["enrolment"].items():
            choose, report = parts["choose"], parts["report"]
            lines.append(f"    {per_entry} image(s) per entry: choose {choose['templates']:,} templates x "
                         f"{choose['probes']:,} probes ({choose['impostor_comparisons']:,} impostor comparisons); "
                         f"report {report['templates']:,} x {report['probes']:,} "
                         f"({report['mated_probes']:,} mated), rank-1 {_percent(report['rank1'])}")
        lines.append("    images/entry  watchlist  target    threshold  held-out FPIR (95% bound)  held-out TPIR")
        for row in section["operating_points"]:
            lines.append(
                f"    {row['images_per_entry']:>12}  {row['watchlist_size']:>9,}  1 in {round(1 / row['target']):<6,}"
                f" {row['threshold']:.3f}{'' if row['measurable'] else '*'}     {_percent(row['report_fpir']):>8} "
                f"({_percent(row['report_fpir_upper_95'])})          {_percent(row['report_tpir'])}")
        if check := section.get("gallery_check"):
            lines.append(f"    gallery check at {check['threshold']:.3f}: {check['alerts']} alerts in "
                         f"{check['probes_searched']:,} searches of off-list people against real galleries of "
                         f"{check['gallery_size']:,} ({_percent(check['rate'])})")
    lines.append("    * the choose part's comparisons cannot show so low a rate: the threshold is where none was seen")
    table = calibration.get("equitability")
    if table:
        lines.append(f"  equitability ({table['dataset']}; {table['crops_with_face']:,} of {table['crops']:,} "
                     "crops with a face):")
        for threshold in sorted(set(default_thresholds(calibration).values())):
            rows = thresholds.equitability(calibration, threshold)
            lines.append(f"    at {threshold:.3f}: " + "; ".join(
                f"{row['group']} {row['false_matches']}/{row['pairs']:,}"
                + (f" (x{row['ratio']:.2f})" if row["ratio"] is not None and row["attribute"] != "all" else "")
                for row in rows))
    return lines


def plot_calibration(calibration: Mapping[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for axis, condition in zip(axes, ("greyscale", "colour"), strict=True):
        section = calibration["conditions"][condition]
        for per_entry, parts in section["enrolment"].items():
            for size, colour in (("100", "tab:blue"), ("1000", "tab:red")):
                for part, style in (("choose", ":"), ("report", "-")):
                    values = [max(v, 1e-5) for v in parts[part]["fpir"][size]]
                    axis.plot(GRID, values, style, color=colour, alpha=1 if per_entry == "1" else 0.5,
                              label=f"FPIR N={size}, {part}, {per_entry} img" if style == "-" or size == "100"
                              else None)
            axis.plot(GRID, [max(v, 1e-5) for v in parts["report"]["tpir"]["1000"]], "-", color="tab:green",
                      alpha=1 if per_entry == "1" else 0.5, label=f"TPIR N=1000, report, {per_entry} img")
        axis.axhline(1e-3, color="black", linestyle="--", linewidth=0.8, label="1 in 1,000")
        axis.set(yscale="log", ylim=(1e-5, 1.5), xlim=(0.2, 0.9), xlabel="threshold (cosine similarity)",
                 ylabel="rate per look (0 drawn at 1e-5)",
                 title=f"{calibration['pack']}: {condition} ({section['dataset']})")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(*, pack_ids: Sequence[str] | None = None, out_dir: Path, faces_dir: Path, config: EngineConfig,
         update_manifests: bool = False, limit: int | None = None,
         write: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """Calibrate each pack; save <out_dir>/<pack>.json and <pack>.png; print a summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    runs = [measure_pack(load_engine(pack_id, config), faces_dir, limit=limit, progress=write)
            for pack_id in pack_ids or [packs.DEFAULT_PACK]]
    for run in runs:
        pack_id = run.engine.pack.id
        calibration = finish_pack(run, faces_dir, others=[other for other in runs if other is not run])
        json_path = out_dir / f"{pack_id}.json"
        json_path.write_text(json.dumps(calibration, indent=1) + "\n", encoding="utf-8")
        plot_calibration(calibration, out_dir / f"{pack_id}.png")
        for line in summary_lines(calibration):
            write(line)
        write(f"  saved {json_path} and {out_dir / f'{pack_id}.png'}")
        if update_manifests:
            write(f"  updated {update_manifest(calibration)}")
        results[pack_id] = calibration
    return results


# --- The small DeepFace set (fast tests) ---------------------------------------------------------------------


@dataclass(frozen=True)
class FaceSet:
    """The labelled DeepFace test images: master.csv pairs and identities.csv labels."""

    folder: Path
    pairs: list[tuple[str, str, bool]]
    identities: dict[str, str]  # file -> identity, in identities.csv order

    @property
    def files(self) -> list[str]:
        names = {f for pair in self.pairs for f in pair[:2]} | set(self.identities)
        return sorted(names)


def read_face_set(faces_dir: Path) -> FaceSet:
    """faces_dir is the shared faces folder (holding deepface/)."""
    folder = Path(faces_dir) / "deepface"
    with open(folder / "master.csv", newline="") as stream:
        pairs = [(row["file_x"], row["file_y"], row["Decision"].strip() == "Yes") for row in csv.DictReader(stream)]
    with open(folder / "identities.csv", newline="") as stream:
        identities = {row["file"]: row["identity"] for row in csv.DictReader(stream)}
    return FaceSet(folder, pairs, identities)


def load_images(face_set: FaceSet) -> dict[str, np.ndarray]:
    return {name: decode_image((face_set.folder / name).read_bytes()) for name in face_set.files}


def primary_face(faces: Sequence[Face]) -> Face:
    """The subject of a portrait: the largest detected face."""
    return max(faces, key=lambda face: face.width * face.height)


def dataset_templates(engine: FaceEngine, images: Mapping[str, np.ndarray], *, greyscale: bool = False
                      ) -> dict[str, np.ndarray | None]:
    """One embedding per image (its primary face), None where no face was detected."""
    crops: dict[str, np.ndarray] = {}
    for name, image in images.items():
        image = to_greyscale_bgr(image) if greyscale else image
        faces = engine.detect(image)
        if faces:
            crops[name] = engine.align(image, primary_face(faces))
    embeddings = engine.embed(list(crops.values()))
    found = dict(zip(crops, embeddings, strict=True))
    return {name: found.get(name) for name in images}


def pair_scores(templates: Mapping[str, np.ndarray | None], pairs: Sequence[tuple[str, str, bool]]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Scores of labelled pairs; a pair with an undetected face scores -1 (a non-match decision)."""
    scores, genuine = [], []
    for first, second, same in pairs:
        a, b = templates[first], templates[second]
        scores.append(-1.0 if a is None or b is None else float(a @ b))
        genuine.append(same)
    return np.asarray(scores, dtype=np.float64), np.asarray(genuine, dtype=bool)


def accuracy_at(scores: np.ndarray, genuine: np.ndarray, threshold: float) -> float:
    return float(np.mean((scores >= threshold) == genuine))
