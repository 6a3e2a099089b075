"""The face engine as the Django side uses it: built once per process from settings, then reused.

The engine itself (`matching/engine/`) knows no Django: arrays in, arrays and dataclasses out. This
module is the one place that maps settings onto it (model folders, threads, the quality gate's
limits from policy) and finds a pack's calibration, so watchlists (enrolment), deployments (the
authorising officer's estimate) and matching (the live pipeline) share one engine per process and
none of them reaches into another app for it.
"""

from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from lfr_governance.rates import percent_text
from matching.engine import EngineConfig, FaceEngine, ModelPack, decode_image, load_engine, load_manifest
from matching.engine import thresholds
from matching.engine.packs import MANIFEST_DIR, available_packs
from matching.engine.thresholds import CONDITIONS, CalibrationMissing, Operating

__all__ = [
    "CONDITIONS", "CalibrationMissing", "Operating", "calibration_for_pack", "calibrated_packs", "decode_image",
    "engine_config", "get_engine", "load_manifest", "ModelPack", "pack_equitability",
    "threshold_estimate", "threshold_propose",
]

_lock = threading.Lock()
SHIPPED_CALIBRATION_DIR = MANIFEST_DIR / "calibration"


def engine_config() -> EngineConfig:
    return EngineConfig(
        model_dir=Path(settings.LFR_MODEL_DIR),
        model_cache=Path(settings.LFR_MODEL_CACHE),
        insightface_licence_acknowledged=settings.LFR_INSIGHTFACE_LICENCE_ACKNOWLEDGED,
        intra_op_threads=settings.LFR_ONNX_THREADS,
        inter_op_threads=1,
        providers=tuple(settings.LFR_ONNX_PROVIDERS) or None,
        quality=dict(settings.LFR_QUALITY_GATE),
    )


@lru_cache(maxsize=4)
def _engine(pack_id: str) -> FaceEngine:
    return load_engine(pack_id, engine_config())


def get_engine(pack_id: str | None = None) -> FaceEngine:
    """The engine for `pack_id` (default: the configured pack); models load once per process."""
    with _lock:
        return _engine(pack_id or settings.LFR_FACE_PACK)


# A pack id as the calibration files name it (a slug, as in the pack page's address): anything else names no pack.
_PACK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _calibration_path(pack_id: str) -> Path | None:
    if not isinstance(pack_id, str) or not _PACK_ID.match(pack_id):
        return None
    for folder in (Path(settings.LFR_CALIBRATION_DIR), SHIPPED_CALIBRATION_DIR):
        path = folder / f"{pack_id}.json"
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=16)
def _read_calibration(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    # Keyed by modification time and size too: a recalibrated pack is read again, an unchanged one only once.
    return json.loads(Path(path).read_text(encoding="utf-8"))


def calibration_for_pack(pack_id: str) -> dict:
    """The pack's calibration: the operator's own run (LFR_CALIBRATION_DIR) if there is one, else the shipped one.
    FileNotFoundError (with what to run) where there is neither. Callers must not change the dict (it is shared)."""
    path = _calibration_path(pack_id)
    if path is None:
        raise FileNotFoundError(
            f"No calibration for model pack {pack_id}: run manage.py calibrate_packs --pack {pack_id}.")
    stat = path.stat()
    return _read_calibration(str(path), stat.st_mtime_ns, stat.st_size)


def calibration_format2(pack_id: str) -> dict:
    """The pack's calibration where it can propose a threshold (format 2); CalibrationMissing, with what to do,
    where it is missing, unreadable or in the old format."""
    try:
        calibration = calibration_for_pack(pack_id)
    except FileNotFoundError as exc:
        raise CalibrationMissing(str(exc)) from None
    except (OSError, ValueError):
        raise CalibrationMissing(f"The calibration of model pack {pack_id} cannot be read: run manage.py "
                                 f"calibrate_packs --pack {pack_id} again.") from None
    if not isinstance(calibration, dict) or calibration.get("format") != 2:
        raise CalibrationMissing(
            f"The calibration of model pack {pack_id} is in an old format, which cannot propose a threshold from "
            f"the target: run manage.py calibrate_packs --pack {pack_id} again.")
    return calibration


def calibrated_packs() -> list[str]:
    """The packs with a calibration file (the operator's and the shipped ones), by id."""
    packs = set()
    for folder in (Path(settings.LFR_CALIBRATION_DIR), SHIPPED_CALIBRATION_DIR):
        if folder.is_dir():
            packs |= {p.stem for p in folder.glob("*.json") if _PACK_ID.match(p.stem)}
    return sorted(packs)


def known_packs() -> list[str]:
    """The packs with a manifest or a calibration."""
    return sorted(set(available_packs()) | set(calibrated_packs()))


def threshold_propose(pack_id: str, *, condition: str, watchlist_size: int, confirmation_frames: int,
                      images_per_entry: int, target: float | None = None) -> Operating:
    """The lowest calibrated threshold meeting the force's target (policy) for this deployment shape."""
    return thresholds.propose(
        calibration_format2(pack_id), condition=condition, watchlist_size=watchlist_size,
        target=settings.LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY if target is None else target,
        confirmation_frames=confirmation_frames, looks=settings.LFR_LOOKS_PER_PASSER_BY,
        images_per_entry=images_per_entry)


def threshold_estimate(pack_id: str, *, condition: str, threshold: float, watchlist_size: int,
                       confirmation_frames: int, images_per_entry: int) -> Operating:
    """The figures at a chosen threshold for this deployment shape."""
    return thresholds.estimate(
        calibration_format2(pack_id), condition=condition, threshold=threshold, watchlist_size=watchlist_size,
        confirmation_frames=confirmation_frames, looks=settings.LFR_LOOKS_PER_PASSER_BY,
        images_per_entry=images_per_entry)


def _one_in(rate: float, unit: str) -> str:
    if not rate or rate <= 0:
        return "none (0%)"
    return f"1 in {round(1 / rate):,} {unit} ({percent_text(rate)})"


def pack_equitability(pack_id: str, threshold: float) -> list[dict[str, Any]]:
    """The calibration's false match rate per demographic group at the threshold, with the words a page shows
    ("label", "fmr_text", "ratio_text"). Counts of comparisons only: no personal data."""
    rows = thresholds.equitability(calibration_format2(pack_id), threshold)
    for row in rows:
        row["label"] = "Everyone" if row["attribute"] == "all" else (
            f"{str(row['attribute']).replace('_', ' ').capitalize()}: {str(row['group']).replace('_', ' ')}")
        row["fmr_text"] = _one_in(row["fmr"], "comparisons")
        row["pairs_text"], row["false_matches_text"] = f"{row['pairs']:,}", f"{row['false_matches']:,}"
        row["ratio_text"] = "—" if row["ratio"] is None else f"{row['ratio']:.2f}"
    return rows


# What a pack's public page and the DPO report show: the proposal for a watchlist of this many entries, one image
# each, two frames to confirm a match (the application's default).
PACK_SUMMARY_WATCHLIST_SIZE = 1000
PACK_SUMMARY_CONFIRMATION_FRAMES = 2


def pack_summary(pack_id: str) -> dict[str, Any]:
    """Per condition, the proposal for PACK_SUMMARY_WATCHLIST_SIZE entries, and the equitability table at the colour
    proposal. {"error": message} where the calibration is missing or old; no personal data either way."""
    try:
        proposals = {condition: threshold_propose(
            pack_id, condition=condition, watchlist_size=PACK_SUMMARY_WATCHLIST_SIZE,
            confirmation_frames=PACK_SUMMARY_CONFIRMATION_FRAMES, images_per_entry=1) for condition in CONDITIONS}
        rows = pack_equitability(pack_id, proposals["colour"].threshold)
    except (CalibrationMissing, KeyError, IndexError, TypeError, ValueError) as exc:
        message = str(exc.args[0]) if isinstance(exc, CalibrationMissing) and exc.args else (
            f"The calibration of model pack {pack_id} is incomplete: run manage.py calibrate_packs --pack "
            f"{pack_id} again.")
        return {"pack": pack_id, "error": message}
    labels = {"colour": "Colour frames", "greyscale": "Greyscale (night-time) frames"}
    conditions = [{
        "condition": condition, "label": labels.get(condition, condition), "threshold": op.threshold,
        "per_passer_by_text": _one_in(op.per_passer_by, "passers-by"),
        "per_passer_by_upper_text": _one_in(op.per_passer_by_upper_95, "passers-by"),
        "tpir_text": percent_text(op.tpir), "report_per_look_text": _one_in(op.report_per_look, "looks"),
        "impostor_comparisons": op.impostor_comparisons, "measurable": op.measurable,
        "meets_target": op.meets_target, "source": op.source,
    } for condition, op in proposals.items()]
    target = settings.LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY
    return {"pack": pack_id, "error": "", "watchlist_size": PACK_SUMMARY_WATCHLIST_SIZE,
            "watchlist_size_text": f"{PACK_SUMMARY_WATCHLIST_SIZE:,}",
            "confirmation_frames": PACK_SUMMARY_CONFIRMATION_FRAMES, "target": target,
            "target_text": _one_in(target, "passers-by"), "conditions": conditions,
            "equitability": rows, "equitability_threshold": proposals["colour"].threshold}
