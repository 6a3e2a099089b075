"""Calibrate a model pack on the shared DeepFace test images.

Verification (master.csv pairs and every pair of identities.csv), the threshold
for a target false match rate, accuracy, and an open-set 1:N run, each for
colour and greyscale images. Outputs hold scores, rates and thresholds only:
never an image, a crop or an embedding.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import packs
from .config import EngineConfig
from .engine import FaceEngine, load_engine
from .face import Face
from .gallery import Gallery
from .images import decode_image, to_greyscale_bgr

DEFAULT_TARGET_FMR = 0.001
ENROLLED_IDENTITIES = 7
FAILED_SCORE = -1.0  # a pair with an undetected face counts as a non-match decision
GRID_STEP = 0.005
CONDITIONS = ("colour", "greyscale")


@dataclass(frozen=True)
class FaceSet:
    """The labelled test images: master.csv pairs and identities.csv labels."""

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


def dataset_templates(
    engine: FaceEngine, images: Mapping[str, np.ndarray], *, greyscale: bool = False
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


def pair_scores(
    templates: Mapping[str, np.ndarray | None], pairs: Sequence[tuple[str, str, bool]]
) -> tuple[np.ndarray, np.ndarray]:
    scores, genuine = [], []
    for first, second, same in pairs:
        a, b = templates[first], templates[second]
        scores.append(FAILED_SCORE if a is None or b is None else float(a @ b))
        genuine.append(same)
    return np.asarray(scores, dtype=np.float64), np.asarray(genuine, dtype=bool)


def all_pairs(identities: Mapping[str, str]) -> list[tuple[str, str, bool]]:
    names = list(identities)
    return [(a, b, identities[a] == identities[b]) for i, a in enumerate(names) for b in names[i + 1 :]]


def error_rates(scores: np.ndarray, genuine: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false match rate, false non-match rate) at each threshold; a score >= threshold is a match."""
    impostor, mated = np.sort(scores[~genuine]), np.sort(scores[genuine])
    fmr = (len(impostor) - np.searchsorted(impostor, thresholds, side="left")) / max(len(impostor), 1)
    fnmr = np.searchsorted(mated, thresholds, side="left") / max(len(mated), 1)
    return fmr, fnmr


def threshold_for_fmr(impostor_scores: np.ndarray, target_fmr: float) -> float:
    """The lowest threshold (rounded up to 0.01) whose false match rate is at most target_fmr."""
    ranked = np.sort(impostor_scores)[::-1]
    allowed = math.floor(target_fmr * len(ranked))  # impostor scores permitted at or above the threshold
    boundary = ranked[allowed] if allowed < len(ranked) else -1.0
    # The next 0.01 step strictly above the first impostor score that must be rejected.
    return round(math.floor(round(boundary * 100, 6)) / 100 + 0.01, 2)


def best_accuracy(scores: np.ndarray, genuine: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy; the threshold is the midpoint of the best gap."""
    candidates = np.unique(scores)
    midpoints = np.concatenate(
        [[candidates[0] - 1e-3], (candidates[:-1] + candidates[1:]) / 2, [candidates[-1] + 1e-3]]
    )
    accuracies = np.array([accuracy_at(scores, genuine, t) for t in midpoints])
    best = int(np.argmax(accuracies))
    return float(midpoints[best]), float(accuracies[best])


def accuracy_at(scores: np.ndarray, genuine: np.ndarray, threshold: float) -> float:
    return float(np.mean((scores >= threshold) == genuine))


def open_set(
    templates: Mapping[str, np.ndarray | None],
    identities: Mapping[str, str],
    threshold: float,
    enrolled_count: int = ENROLLED_IDENTITIES,
) -> dict[str, Any]:
    """Enrol the first image of the first identities; probe with every other image of all of them.

    TPIR: mated probes whose top-1 is their own identity at or above the threshold.
    FPIR: non-mated probes whose top-1 is at or above the threshold.
    """
    people = sorted(set(identities.values()))
    enrolled_people = set(people[:enrolled_count])
    enrolled: dict[str, str] = {}
    for name, person in identities.items():
        if person in enrolled_people and person not in enrolled:
            enrolled[person] = name
    failed_enrolments = [name for name in enrolled.values() if templates[name] is None]
    enrolled_templates = {p: t for p, name in enrolled.items() if (t := templates[name]) is not None}
    gallery = Gallery(np.stack(list(enrolled_templates.values())), list(enrolled_templates))
    mated_hits = mated = false_alarms = nonmated = failed_probes = 0
    for name, person in identities.items():
        if name in enrolled.values():
            continue
        is_mated = person in enrolled_people
        mated += is_mated
        nonmated += not is_mated
        template = templates[name]
        if template is None:
            failed_probes += 1
            continue
        top = gallery.search(template, k=1)[0][0]
        if top.score >= threshold:
            if is_mated and top.label == person:
                mated_hits += 1
            elif not is_mated:
                false_alarms += 1
    return {
        "threshold": threshold,
        "enrolled": len(gallery),
        "mated_probes": mated,
        "nonmated_probes": nonmated,
        "tpir": mated_hits / max(mated, 1),
        "fpir": false_alarms / max(nonmated, 1),
        "failed_enrolments": failed_enrolments,
        "failed_probes": failed_probes,
    }


def fmr_upper_95(false_matches: int, comparisons: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound of a false match rate."""
    from scipy.stats import beta

    if comparisons == 0:
        return 1.0
    if false_matches >= comparisons:
        return 1.0
    return float(beta.ppf(0.95, false_matches + 1, comparisons - false_matches))


def calibrate_condition(
    templates: Mapping[str, np.ndarray | None],
    face_set: FaceSet,
    *,
    pack_threshold: float | None,
    target_fmr: float,
) -> dict[str, Any]:
    grid = np.round(np.arange(-0.2, 1.0 + GRID_STEP / 2, GRID_STEP), 3)
    master_scores, master_genuine = pair_scores(templates, face_set.pairs)
    every_scores, every_genuine = pair_scores(templates, all_pairs(face_set.identities))
    recommended = threshold_for_fmr(every_scores[~every_genuine], target_fmr)
    threshold = recommended if pack_threshold is None else pack_threshold
    best_threshold, best = best_accuracy(master_scores, master_genuine)
    master_fmr, master_fnmr = error_rates(master_scores, master_genuine, grid)
    every_fmr, every_fnmr = error_rates(every_scores, every_genuine, grid)
    impostors = int((~every_genuine).sum())
    at_threshold = error_rates(every_scores, every_genuine, np.array([threshold]))
    return {
        "detection_failures": sorted(name for name, t in templates.items() if t is None),
        "threshold_at_target_fmr": recommended,
        "pack_threshold": threshold,
        "verification": {
            "pairs": len(master_scores),
            "genuine_pairs": int(master_genuine.sum()),
            "impostor_pairs": int((~master_genuine).sum()),
            "pairs_with_failed_detection": int((master_scores == FAILED_SCORE).sum()),
            "best_threshold": round(best_threshold, 4),
            "best_accuracy": best,
            "accuracy_at_pack_threshold": accuracy_at(master_scores, master_genuine, threshold),
            "roc": _roc_rows(grid, master_fmr, master_fnmr),
            "histogram": _histogram(master_scores, master_genuine),
        },
        "all_identity_pairs": {
            "genuine_pairs": int(every_genuine.sum()),
            "impostor_pairs": impostors,
            "accuracy_at_pack_threshold": accuracy_at(every_scores, every_genuine, threshold),
            "fmr_at_pack_threshold": float(at_threshold[0][0]),
            "fnmr_at_pack_threshold": float(at_threshold[1][0]),
            "roc": [
                {**row, "false_matches": round(row["fmr"] * impostors)}
                for row in _roc_rows(grid, every_fmr, every_fnmr)
            ],
            "histogram": _histogram(every_scores, every_genuine),
        },
        "open_set": open_set(templates, face_set.identities, threshold),
    }


def _roc_rows(grid: np.ndarray, fmr: np.ndarray, fnmr: np.ndarray) -> list[dict[str, float]]:
    return [
        {"threshold": float(t), "fmr": round(float(a), 6), "fnmr": round(float(b), 6)}
        for t, a, b in zip(grid, fmr, fnmr, strict=True)
    ]


def _histogram(scores: np.ndarray, genuine: np.ndarray) -> dict[str, list[float] | list[int]]:
    edges = np.round(np.arange(-0.3, 1.0001, 0.025), 3)
    valid = scores > FAILED_SCORE
    return {
        "bin_edges": edges.tolist(),
        "genuine": np.histogram(scores[genuine & valid], edges)[0].tolist(),
        "impostor": np.histogram(scores[~genuine & valid], edges)[0].tolist(),
    }


def calibrate_pack(
    engine: FaceEngine,
    face_set: FaceSet,
    images: Mapping[str, np.ndarray],
    *,
    target_fmr: float = DEFAULT_TARGET_FMR,
) -> dict[str, Any]:
    import onnx
    import onnxruntime

    pack = engine.pack
    conditions = {}
    for condition in CONDITIONS:
        templates = dataset_templates(engine, images, greyscale=condition == "greyscale")
        conditions[condition] = calibrate_condition(
            templates,
            face_set,
            pack_threshold=pack.threshold_for(greyscale=condition == "greyscale"),
            target_fmr=target_fmr,
        )
    return {
        "pack": pack.id,
        "pack_name": pack.name,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "software": {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__},
        "files": {spec.filename: spec.sha256 for spec in pack.files.values()},
        "dataset": {
            "name": "DeepFace unit-test images (shared/faces/deepface)",
            "images": len(face_set.files),
            "identities": len(set(face_set.identities.values())),
            "master_pairs": len(face_set.pairs),
        },
        "target_fmr": target_fmr,
        "conditions": conditions,
    }


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
    """Expected false alerts for a deployment: watchlist size x footfall x FMR at the threshold."""

    threshold: float
    fmr: float
    fmr_upper_95: float
    impostor_comparisons: int
    expected: float
    expected_upper_95: float


def expected_false_alerts(
    calibration: Mapping[str, Any],
    threshold: float,
    watchlist_size: int,
    footfall: int,
    *,
    condition: str = "colour",
) -> FalseAlertEstimate:
    """Estimate false alerts from a pack's calibration JSON.

    Uses the FMR measured over every impostor pair of identities.csv at the
    highest calibrated threshold not above the chosen one (so never an
    underestimate from interpolation), and its 95% upper bound, which matters
    when few or no impostor pairs scored above the threshold.
    """
    section = calibration["conditions"][condition]["all_identity_pairs"]
    rows = [row for row in section["roc"] if row["threshold"] <= threshold + 1e-9]
    row = rows[-1] if rows else section["roc"][0]
    comparisons = int(section["impostor_pairs"])
    fmr = float(row["fmr"])
    upper = fmr_upper_95(int(row["false_matches"]), comparisons)
    per_passer = watchlist_size * footfall
    return FalseAlertEstimate(threshold, fmr, upper, comparisons, per_passer * fmr, per_passer * upper)


def manifest_figures(calibration: Mapping[str, Any]) -> dict[str, Any]:
    """The thresholds and headline figures a pack manifest records."""
    figures: dict[str, Any] = {
        "dataset": calibration["dataset"]["name"],
        "calibrated": calibration["created"][:10],
        "target_fmr": calibration["target_fmr"],
    }
    for condition, result in calibration["conditions"].items():
        verification, every, open_run = result["verification"], result["all_identity_pairs"], result["open_set"]
        figures[condition] = {
            "threshold": result["pack_threshold"],
            "verification_accuracy": round(verification["accuracy_at_pack_threshold"], 4),
            "best_accuracy": round(verification["best_accuracy"], 4),
            "fmr_all_pairs": every["fmr_at_pack_threshold"],
            "fnmr_all_pairs": round(every["fnmr_at_pack_threshold"], 4),
            "impostor_pairs": every["impostor_pairs"],
            "tpir": round(open_run["tpir"], 4),
            "fpir": round(open_run["fpir"], 4),
            "detection_failures": len(result["detection_failures"]),
        }
    return figures


def plot_calibration(calibration: Mapping[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    rates_axis = axes[0]
    for condition, style, histogram_axis in zip(CONDITIONS, ("-", "--"), axes[1:], strict=True):
        result = calibration["conditions"][condition]
        rows = result["all_identity_pairs"]["roc"]
        thresholds = [row["threshold"] for row in rows]
        for rate, colour in (("fmr", "tab:red"), ("fnmr", "tab:green")):
            values = [max(row[rate], 1e-4) for row in rows]  # the log axis cannot show zero
            rates_axis.plot(thresholds, values, style, color=colour, label=f"{rate.upper()}, {condition}")
        histogram = result["all_identity_pairs"]["histogram"]
        edges = np.asarray(histogram["bin_edges"])
        for key, colour in (("genuine", "tab:green"), ("impostor", "tab:red")):
            counts = np.asarray(histogram[key], dtype=float)
            histogram_axis.stairs(counts / max(counts.sum(), 1), edges, color=colour, label=f"{key} pairs")
        threshold = result["pack_threshold"]
        histogram_axis.axvline(threshold, color="black", linestyle=":", label=f"threshold {threshold}")
        histogram_axis.set(
            title=f"{calibration['pack']}: {condition} scores, all identity pairs",
            xlabel="cosine similarity",
            ylabel="share of pairs",
        )
        histogram_axis.legend(fontsize=8)
    rates_axis.set(
        yscale="log",
        ylim=(5e-5, 1.5),
        xlabel="threshold (cosine similarity)",
        ylabel="rate (0 drawn at 1e-4)",
        title=f"{calibration['pack']}: FMR and FNMR, all identity pairs",
    )
    rates_axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def update_manifest(calibration: Mapping[str, Any], manifest_dir: Path = packs.MANIFEST_DIR) -> Path:
    """Write the calibrated thresholds and figures into the committed pack manifest (maintainers only)."""
    path = manifest_dir / f"{calibration['pack']}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["threshold"] = {c: calibration["conditions"][c]["pack_threshold"] for c in CONDITIONS}
    data["validation"] = manifest_figures(calibration)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def summary_lines(calibration: Mapping[str, Any]) -> list[str]:
    dataset = calibration["dataset"]
    lines = [f"Pack {calibration['pack']} on {dataset['images']} images, {dataset['master_pairs']} master.csv pairs"]
    for condition, result in calibration["conditions"].items():
        v, e, o = result["verification"], result["all_identity_pairs"], result["open_set"]
        failures = result["detection_failures"]
        lines += [
            f"  {condition}: pack threshold {result['pack_threshold']:.2f} "
            f"(threshold for FMR <= {calibration['target_fmr']} over {e['impostor_pairs']} impostor pairs: "
            f"{result['threshold_at_target_fmr']:.2f})",
            f"    verification accuracy {v['accuracy_at_pack_threshold']:.4f} at pack threshold; "
            f"best {v['best_accuracy']:.4f} at {v['best_threshold']:.3f}",
            f"    all identity pairs at pack threshold: FMR {e['fmr_at_pack_threshold']:.5f}, "
            f"FNMR {e['fnmr_at_pack_threshold']:.4f}",
            f"    open-set 1:N ({o['enrolled']} enrolled, {o['mated_probes']} mated / "
            f"{o['nonmated_probes']} non-mated probes): TPIR {o['tpir']:.4f}, FPIR {o['fpir']:.4f}",
            f"    images with no face detected: {len(failures)}" + (f" {failures}" if failures else ""),
        ]
    return lines


def main(
    *,
    pack_ids: Sequence[str] | None = None,
    out_dir: Path,
    faces_dir: Path,
    config: EngineConfig,
    target_fmr: float = DEFAULT_TARGET_FMR,
    update_manifests: bool = False,
    write: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """Calibrate each pack; save <out_dir>/<pack>.json and <pack>.png; print a summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    face_set = read_face_set(faces_dir)
    images = load_images(face_set)
    results = {}
    for pack_id in pack_ids or [packs.DEFAULT_PACK]:
        calibration = calibrate_pack(load_engine(pack_id, config), face_set, images, target_fmr=target_fmr)
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
