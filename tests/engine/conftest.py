"""Fixtures for the engine tests: no database; models and embeddings computed once per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from matching.engine import EngineConfig, FaceEngine, load_engine
from matching.engine.calibration import FaceSet, dataset_templates, load_images, read_face_set

from .support import PACKS, QUALITY_GATE, shared_faces_dir, stage_buffalo_s

Templates = dict[str, np.ndarray | None]


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    folder = shared_faces_dir()
    if not (folder / "deepface" / "master.csv").is_file():
        pytest.fail(f"Shared face images not found at {folder}: set LFR_FACES_DIR.")
    return folder


@pytest.fixture(scope="session")
def deepface_dir(faces_dir: Path) -> Path:
    return faces_dir / "deepface"


@pytest.fixture(scope="session")
def engine_config(tmp_path_factory: pytest.TempPathFactory) -> EngineConfig:
    root = tmp_path_factory.mktemp("models")
    stage_buffalo_s(root / "operator")
    return EngineConfig(model_dir=root / "operator", model_cache=root / "cache", insightface_licence_acknowledged=True,
                        quality=QUALITY_GATE)


@pytest.fixture(scope="session")
def engines(engine_config: EngineConfig) -> dict[str, FaceEngine]:
    return {pack_id: load_engine(pack_id, engine_config) for pack_id in PACKS}


@pytest.fixture(params=PACKS)
def engine(request: pytest.FixtureRequest, engines: dict[str, FaceEngine]) -> FaceEngine:
    return engines[request.param]


@pytest.fixture(scope="session")
def face_set(faces_dir: Path) -> FaceSet:
    return read_face_set(faces_dir)


@pytest.fixture(scope="session")
def dataset_images(face_set: FaceSet) -> dict[str, np.ndarray]:
    return load_images(face_set)


@pytest.fixture(scope="session")
def templates(
    engines: dict[str, FaceEngine], dataset_images: dict[str, np.ndarray]
) -> Iterator[Callable[[str, str], Templates]]:
    """templates(pack_id, condition): embeddings of the face set, computed once per session, held in memory."""
    cache: dict[tuple[str, str], Templates] = {}

    def lookup(pack_id: str, condition: str) -> Templates:
        if (pack_id, condition) not in cache:
            greyscale = condition == "greyscale"
            cache[pack_id, condition] = dataset_templates(engines[pack_id], dataset_images, greyscale=greyscale)
        return cache[pack_id, condition]

    yield lookup
    cache.clear()
