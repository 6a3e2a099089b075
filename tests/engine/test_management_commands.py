"""The two management commands only map settings and arguments onto the engine's main functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from matching.engine import EngineConfig, benchmark, calibration
from matching.management.commands import benchmark_engine, calibrate_packs

from .support import QUALITY_GATE, shared_faces_dir

@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, settings) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = []
    settings.LFR_MODEL_DIR = "/srv/models"
    settings.LFR_MODEL_CACHE = "/srv/lfr/var/models"
    settings.LFR_CALIBRATION_DIR = "/srv/lfr/var/calibration"
    settings.LFR_FACES_DIR = str(shared_faces_dir())
    settings.LFR_INSIGHTFACE_LICENCE_ACKNOWLEDGED = True
    settings.LFR_ONNX_THREADS = 2
    monkeypatch.setattr(calibration, "main", lambda **kwargs: recorded.append(kwargs))
    monkeypatch.setattr(benchmark, "main", lambda **kwargs: recorded.append(kwargs))
    return recorded


def test_calibrate_packs_passes_settings_defaults(calls: list[dict[str, Any]]) -> None:
    calibrate_packs.Command().handle(
        packs=["buffalo_s"], out=None, faces=None, limit=None, update_manifests=False
    )
    [kwargs] = calls
    assert kwargs["pack_ids"] == ["buffalo_s"]
    assert kwargs["out_dir"] == Path("/srv/lfr/var/calibration")
    assert kwargs["faces_dir"] == shared_faces_dir() and kwargs["limit"] is None
    assert kwargs["config"] == EngineConfig(
        model_dir=Path("/srv/models"),
        model_cache=Path("/srv/lfr/var/models"),
        insightface_licence_acknowledged=True,
        intra_op_threads=2,
        inter_op_threads=1,
        quality=QUALITY_GATE,
    )


def test_benchmark_engine_passes_repeats_and_packs(calls: list[dict[str, Any]]) -> None:
    benchmark_engine.Command().handle(packs=None, repeats=3, faces=Path("/faces"))
    [kwargs] = calls
    assert kwargs["pack_ids"] is None and kwargs["repeats"] == 3 and kwargs["faces_dir"] == Path("/faces")


def test_the_providers_setting_reaches_the_engine(settings) -> None:
    from lfr_governance.faces import engine_config

    settings.LFR_ONNX_PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert engine_config().providers == ("CUDAExecutionProvider", "CPUExecutionProvider")
    settings.LFR_ONNX_PROVIDERS = []
    assert engine_config().providers is None  # CUDA where available, else CPU
