"""The face engine as this process uses it: built once from settings, then reused."""

import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from matching.engine import EngineConfig, FaceEngine, load_engine

_lock = threading.Lock()


def engine_config() -> EngineConfig:
    return EngineConfig(
        model_dir=Path(settings.LFR_MODEL_DIR),
        model_cache=Path(settings.LFR_MODEL_CACHE),
        insightface_licence_acknowledged=settings.LFR_INSIGHTFACE_LICENCE_ACKNOWLEDGED,
        intra_op_threads=settings.LFR_ONNX_THREADS,
        inter_op_threads=1,
    )


@lru_cache(maxsize=4)
def _engine(pack_id: str) -> FaceEngine:
    return load_engine(pack_id, engine_config())


def get_engine(pack_id: str | None = None) -> FaceEngine:
    """The engine for `pack_id` (default: the configured pack); models load once per process."""
    with _lock:
        return _engine(pack_id or settings.LFR_FACE_PACK)


SHIPPED_CALIBRATION_DIR = Path(__file__).resolve().parent / "engine" / "packs" / "calibration"


def calibration_for_pack(pack_id: str) -> dict:
    """The pack's calibration: the operator's own run (LFR_CALIBRATION_DIR) if there is one, else the shipped one."""
    from matching.engine.calibration import load_calibration

    try:
        return load_calibration(Path(settings.LFR_CALIBRATION_DIR), pack_id)
    except FileNotFoundError:
        return load_calibration(SHIPPED_CALIBRATION_DIR, pack_id)
