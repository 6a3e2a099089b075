"""Alignment, embedding and the FaceEngine conveniences."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from matching.engine import FaceEngine, is_greyscale, to_greyscale_bgr

from .support import read_image


def test_templates_are_l2_normalised_float32_rows(engine: FaceEngine, deepface_dir: Path) -> None:
    faces, embeddings = engine.templates(read_image(deepface_dir, "couple.jpg"))
    assert embeddings.shape == (len(faces), engine.pack.embedding_size) == (2, engine.pack.embedding_size)
    assert embeddings.dtype == np.float32 and embeddings.flags.c_contiguous
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_alignment_gives_a_112_pixel_bgr_crop(engine: FaceEngine, deepface_dir: Path) -> None:
    image = read_image(deepface_dir, "img1.jpg")
    crop = engine.align(image, engine.detect(image)[0])
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8


def test_embedding_in_batches_equals_one_at_a_time(engine: FaceEngine, deepface_dir: Path) -> None:
    crops = []
    for name in ("img1.jpg", "img2.jpg", "img3.jpg"):
        image = read_image(deepface_dir, name)
        crops.append(engine.align(image, engine.detect(image)[0]))
    batch = engine.embed(crops)
    single = np.vstack([engine.embed([crop]) for crop in crops])
    assert np.allclose(batch, single, atol=1e-4)
    assert engine.embed([]).shape == (0, engine.pack.embedding_size)


def test_same_person_scores_higher_than_different_people(engine: FaceEngine, deepface_dir: Path) -> None:
    # img1 and img2 are person01; img3 is person02.
    embeddings = np.vstack(
        [engine.templates(read_image(deepface_dir, n))[1] for n in ("img1.jpg", "img2.jpg", "img3.jpg")]
    )
    same, different = float(embeddings[0] @ embeddings[1]), float(embeddings[0] @ embeddings[2])
    # The pack's default threshold is set for 1,000 entries at 1 in 1,000 (high); the two people stay far apart.
    assert same > different + 0.3 and engine.pack.threshold > different  # type: ignore[operator]


def test_greyscale_frames_are_recognised_and_get_the_greyscale_threshold(
    engine: FaceEngine, deepface_dir: Path
) -> None:
    colour = read_image(deepface_dir, "img1.jpg")
    grey = to_greyscale_bgr(colour)
    assert not is_greyscale(colour) and is_greyscale(grey) and is_greyscale(grey[:, :, 0])
    assert engine.threshold_for(grey) == engine.pack.threshold_greyscale
    assert engine.threshold_for(colour) == engine.pack.threshold
