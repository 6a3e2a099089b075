"""The face engine as the Django side uses it: built once per process from settings, then reused.

The engine itself (`matching/engine/`) knows no Django: arrays in, arrays and dataclasses out. This
module is the one place that maps settings onto it (model folders, threads, the quality gate's
limits from policy) and finds a pack's calibration, so watchlists (enrolment), deployments (the
authorising officer's estimate) and matching (the live pipeline) share one engine per process and
none of them reaches into another app for it.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from matching.engine import EngineConfig, FaceEngine, ModelPack, decode_image, load_engine, load_manifest
from matching.engine.calibration import expected_false_alerts, load_calibration
from matching.engine.packs import MANIFEST_DIR

__all__ = [
    "calibration_for_pack", "decode_image", "engine_config", "expected_false_alerts", "get_engine",
    "load_manifest", "ModelPack",
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
        quality=dict(settings.LFR_QUALITY_GATE),
    )


@lru_cache(maxsize=4)
def _engine(pack_id: str) -> FaceEngine:
    return load_engine(pack_id, engine_config())


def get_engine(pack_id: str | None = None) -> FaceEngine:
    """The engine for `pack_id` (default: the configured pack); models load once per process."""
    with _lock:
        return _engine(pack_id or settings.LFR_FACE_PACK)


def calibration_for_pack(pack_id: str) -> dict:
    """The pack's calibration: the operator's own run (LFR_CALIBRATION_DIR) if there is one, else the shipped one."""
    try:
        return load_calibration(Path(settings.LFR_CALIBRATION_DIR), pack_id)
    except FileNotFoundError:
        return load_calibration(SHIPPED_CALIBRATION_DIR, pack_id)
