"""Detection: right face counts, any image size, YuNet decoding identical to OpenCV's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from matching.engine import EngineConfig, FaceEngine, load_manifest
from matching.engine.detect import YuNetDetector, fit_scale, non_max_suppression, resize_for_detection
from matching.engine.packs import locate_file

from .support import read_image

# Counted by eye: couple.jpg shows two people; selfie-many-people.jpg seven (including the
# woman cut off at the lower-left edge and the man at the lower right).
FACE_COUNTS = {"couple.jpg": 2, "selfie-many-people.jpg": 7}


@pytest.mark.parametrize("name", sorted(FACE_COUNTS))
def test_group_photos_give_the_right_number_of_faces(engine: FaceEngine, deepface_dir: Path, name: str) -> None:
    assert len(engine.detect(read_image(deepface_dir, name))) == FACE_COUNTS[name]


@pytest.mark.parametrize("size", [(160, 120), (640, 360), (1280, 720), (1920, 1080), (4000, 3000), (300, 900)])
def test_faces_are_found_and_mapped_back_on_any_image_size(
    engine: FaceEngine, deepface_dir: Path, size: tuple[int, int]
) -> None:
    photo = read_image(deepface_dir, "img1.jpg")
    width, height = size
    canvas = np.full((height, width, 3), 90, dtype=np.uint8)
    scale = min(width / photo.shape[1], height / photo.shape[0]) * 0.9
    tile = cv2.resize(photo, (int(photo.shape[1] * scale), int(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    top, left = (height - tile.shape[0]) // 2, (width - tile.shape[1]) // 2
    canvas[top : top + tile.shape[0], left : left + tile.shape[1]] = tile
    reference = engine.detect(photo)[0]

    faces = engine.detect(canvas)

    assert len(faces) == 1
    expected = (np.asarray(reference.box) * scale + [left, top, left, top]).astype(np.float32)
    assert np.allclose(faces[0].box, expected, atol=max(4.0, 0.06 * (expected[2] - expected[0])))
    x1, y1, x2, y2 = faces[0].box
    assert np.all((faces[0].landmarks[:, 0] > x1) & (faces[0].landmarks[:, 0] < x2))
    assert np.all((faces[0].landmarks[:, 1] > y1) & (faces[0].landmarks[:, 1] < y2))
    assert faces[0].landmarks[0, 0] < faces[0].landmarks[1, 0]  # subject's right eye is image-left


def test_greyscale_and_bgra_images_are_accepted(engine: FaceEngine, deepface_dir: Path) -> None:
    photo = read_image(deepface_dir, "img2.jpg")
    assert len(engine.detect(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY))) == 1
    assert len(engine.detect(cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA))) == 1


def test_yunet_decoding_matches_opencv_face_detector(engines: dict[str, FaceEngine], deepface_dir: Path) -> None:
    detector = engines["yunet-sface"].detector
    assert isinstance(detector, YuNetDetector)
    pack = load_manifest("yunet-sface")
    source = locate_file(pack, pack.files["detector"], EngineConfig())
    image = read_image(deepface_dir, "selfie-many-people.jpg")
    height, width = image.shape[:2]
    resized = resize_for_detection(image, fit_scale(height, width, detector.max_size))
    reference = cv2.FaceDetectorYN.create(str(source), "", (resized.shape[1], resized.shape[0]), 0.5, 0.3, 5000)
    _, rows = reference.detect(resized)

    ours = sorted(detector.detect(resized), key=lambda face: face.box[0])
    theirs = sorted(rows, key=lambda row: row[0])

    assert len(ours) == len(theirs)
    for face, row in zip(ours, theirs, strict=True):
        box = np.array([row[0], row[1], row[0] + row[2], row[1] + row[3]])
        assert np.allclose(face.box, box, atol=1.0)
        assert np.allclose(face.landmarks.reshape(-1), row[4:14], atol=1.0)
        assert face.score == pytest.approx(row[14], abs=0.01)


def test_non_max_suppression_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float32)
    scores = np.array([0.6, 0.9, 0.7], dtype=np.float32)
    assert non_max_suppression(boxes, scores, 0.3).tolist() == [1, 2]
