"""Tight crops, as an edge node posts them to `detections` without landmarks: found with the border, every pack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matching.engine import FaceEngine, decode_image
from matching.engine.calibration import read_utk
from matching.engine.crops import bordered, face_in_crop

from .support import PACKS

SAMPLE = 500


@pytest.fixture(scope="module")
def utk_crops(faces_dir: Path) -> list[np.ndarray]:
    rows = read_utk(faces_dir)
    step = max(1, len(rows) // SAMPLE)
    return [decode_image((faces_dir / "utk-dev" / image.key).read_bytes()) for image, _ in rows[::step][:SAMPLE]]


@pytest.mark.parametrize("pack_id", PACKS)
def test_at_least_98_percent_of_utk_crops_yield_a_face_with_the_border(
    pack_id: str, engines: dict[str, FaceEngine], utk_crops: list[np.ndarray]
) -> None:
    engine = engines[pack_id]
    found = [face_in_crop(engine, crop) for crop in utk_crops]
    assert sum(result is not None for result in found) >= 0.98 * len(utk_crops)
    for crop, result in zip(utk_crops, found, strict=True):
        if result is not None:
            padded, face = result
            x1, y1, x2, y2 = face.box
            # The face is the crop's own (its centre inside the original crop), and aligns in the bordered image.
            assert padded.shape[0] == 2 * crop.shape[0] and crop.shape[1] / 2 <= (x1 + x2) / 2 <= 1.5 * crop.shape[1]
    assert engine.align(*found[0]).shape == (112, 112, 3)


def test_without_the_border_buffalo_s_misses_most_tight_crops(
    engines: dict[str, FaceEngine], utk_crops: list[np.ndarray]
) -> None:
    """Why the border exists: the detector alone finds hardly any face that fills its crop."""
    bare = sum(bool(engines["buffalo_s"].detect(crop)) for crop in utk_crops[:100])
    assert bare < 50


def test_a_crop_without_a_face_gives_none(engines: dict[str, FaceEngine]) -> None:
    grey = np.full((200, 200, 3), 128, np.uint8)
    assert all(face_in_crop(engine, grey) is None for engine in engines.values())
    assert bordered(grey).shape == (400, 400, 3) and bordered(grey)[0, 0].tolist() == [0, 0, 0]
