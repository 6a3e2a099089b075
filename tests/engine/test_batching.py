"""Batching across frames: detect_many, templates_many and embed give what the one-at-a-time calls give, in fewer
ONNX Runtime runs where the model has a batch axis, and one run per item where it has not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import matching.engine.detect as detect_module
from matching.engine import FaceEngine
from matching.engine.embed import OnnxRecogniser, embed_each
from matching.engine.providers import fixed_batch

from .support import read_image

# Real photographs of 1, 2 and 7 faces, of different sizes and aspects (img11_reflection is mirrored).
PHOTOS = ("couple.jpg", "selfie-many-people.jpg", "img1.jpg", "img3.jpg", "img17.jpg", "img11_reflection.jpg")
# Which packs batch what (the model files' input shapes): YuNet's input is [1, 3, h, w]; SCRFD-500M's [?, 3, ?, ?];
# both recognisers have a dynamic batch axis (SFace's made so by its derivation).
BATCHES = {"yunet-sface": {"detect": False, "embed": True}, "buffalo_s": {"detect": True, "embed": True}}


class CountingSession:
    """A session that counts its runs and the batch of each, running the real one."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.batches: list[int] = []

    def run(self, names: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.batches.append(next(iter(feeds.values())).shape[0])
        return self.session.run(names, feeds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@pytest.fixture(scope="module")
def photos(deepface_dir: Path) -> list[np.ndarray]:
    return [read_image(deepface_dir, name) for name in PHOTOS]


def assert_same_faces(batched: list, single: list) -> None:
    assert len(batched) == len(single)
    for a, b in zip(batched, single, strict=True):
        assert np.allclose(a.box, b.box, atol=1e-3)
        assert np.allclose(a.landmarks, b.landmarks, atol=1e-3)
        assert a.score == pytest.approx(b.score, abs=1e-5)


def test_each_pack_batches_what_its_models_allow(engine: FaceEngine) -> None:
    assert engine.batching == BATCHES[engine.pack.id]
    assert engine.recogniser.batch_size == 32  # DEFAULT_BATCH: the dynamic axis is used


def test_detect_many_equals_detect_image_by_image(engine: FaceEngine, photos: list[np.ndarray]) -> None:
    many = engine.detect_many(photos)

    assert [len(faces) for faces in many] == [2, 7, 1, 1, 1, 1]
    for batched, image in zip(many, photos, strict=True):
        assert_same_faces(batched, engine.detect(image))


def test_scrfd_detects_several_images_in_one_run(engines: dict[str, FaceEngine], photos: list[np.ndarray],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    detector = engines["buffalo_s"].detector
    counting = CountingSession(detector._session())
    monkeypatch.setattr(detector, "_session", lambda: counting)
    monkeypatch.setattr(detect_module, "DETECT_BATCH", 4)  # 6 images: a full batch of 4, then 2

    many = detector.detect_many(photos)

    assert counting.batches == [4, 2]
    for batched, image in zip(many, photos, strict=True):
        assert_same_faces(batched, engines["buffalo_s"].detect(image))


def test_yunet_detects_one_image_per_run(engines: dict[str, FaceEngine], photos: list[np.ndarray],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    detector = engines["yunet-sface"].detector
    assert fixed_batch(detector.session) == 1
    counting = CountingSession(detector.session)
    monkeypatch.setattr(detector, "session", counting)

    detector.detect_many(photos[:3])

    assert counting.batches == [1, 1, 1]


def test_templates_many_equals_templates_image_by_image(engine: FaceEngine, photos: list[np.ndarray]) -> None:
    many = engine.templates_many(photos)

    assert len(many) == len(photos)
    for (faces, embeddings), image in zip(many, photos, strict=True):
        single_faces, single_embeddings = engine.templates(image)
        assert_same_faces(faces, single_faces)
        assert embeddings.shape == single_embeddings.shape and embeddings.dtype == np.float32
        assert np.allclose(embeddings, single_embeddings, atol=1e-5)
    assert engine.detect_many([]) == [] and engine.templates_many([]) == []


def test_embedding_crops_of_many_frames_in_one_run_equals_one_at_a_time(
    engine: FaceEngine, photos: list[np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    crops = [engine.align(image, face) for image in photos for face in engine.detect(image)]
    assert len(crops) == 13
    holder = engine.recogniser if isinstance(engine.recogniser, OnnxRecogniser) else engine.recogniser.model
    counting = CountingSession(holder.session)
    monkeypatch.setattr(holder, "session", counting)

    batched = engine.embed(crops)
    assert counting.batches == [13]  # every crop of every frame in one run
    single = embed_each(engine.recogniser, crops)

    assert counting.batches[1:] == [1] * 13
    assert batched.shape == (13, engine.pack.embedding_size)
    assert np.allclose(batched, single, atol=1e-5)


class FixedBatchSession:
    """A recogniser session whose input has a fixed batch of 1, as some exports have: more rows are an error."""

    class Input:
        name = "data"
        shape = [1, 3, 112, 112]

    def __init__(self) -> None:
        self.batches: list[int] = []

    def get_inputs(self) -> list[Any]:
        return [self.Input()]

    def run(self, names: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        blob = feeds["data"]
        if blob.shape[0] != 1:
            raise ValueError(f"Got invalid dimensions for input: data: got {blob.shape[0]}, expected 1")
        self.batches.append(1)
        return [blob.reshape(1, -1)[:, :8] + 1.0]


def test_a_recogniser_with_a_fixed_batch_of_one_is_run_once_per_crop() -> None:
    session = FixedBatchSession()
    recogniser = OnnxRecogniser(session, embedding_size=8, channel_order="BGR", mean=0.0, std=1.0)
    crops = [np.full((112, 112, 3), value, dtype=np.uint8) for value in (10, 20, 30)]

    embeddings = recogniser.embed(crops)

    assert recogniser.batch_size == 1 and not recogniser.batched
    assert session.batches == [1, 1, 1]
    assert embeddings.shape == (3, 8)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0)
