"""Enrolment quality gate: each refusal has its own reason code and a message a person can act on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from matching.engine import FaceEngine, QualityPolicy, QualityReason
from matching.engine.face import Face
from matching.engine.quality import assess

from .support import QUALITY_GATE, read_image


def test_good_single_face_is_accepted(engine: FaceEngine, deepface_dir: Path) -> None:
    result = engine.assess_quality(read_image(deepface_dir, "img1.jpg"))
    assert result.accepted and result.reason is QualityReason.ACCEPTED
    assert result.face_count == 1 and result.sharpness and result.inter_eye_distance and result.detector_score


def test_enrolment_template_only_for_an_accepted_photo(engine: FaceEngine, deepface_dir: Path) -> None:
    result, template = engine.enrolment_template(read_image(deepface_dir, "img1.jpg"))
    assert result.accepted and template is not None
    assert template.shape == (engine.pack.embedding_size,) and np.isclose(np.linalg.norm(template), 1.0, atol=1e-5)
    refused, nothing = engine.enrolment_template(read_image(deepface_dir, "couple.jpg"))
    assert not refused.accepted and nothing is None


def test_picture_without_a_face_is_refused(engine: FaceEngine, deepface_dir: Path) -> None:
    backdrop = read_image(deepface_dir, "couple.jpg")[0:500, 700:1400]  # logo wall above the heads
    for image in (np.full((480, 640, 3), 128, np.uint8), backdrop):
        result = engine.assess_quality(image)
        assert not result.accepted and result.reason is QualityReason.NO_FACE
        assert "No face found" in result.message


def test_picture_with_two_faces_is_refused(engine: FaceEngine, deepface_dir: Path) -> None:
    result = engine.assess_quality(read_image(deepface_dir, "couple.jpg"))
    assert result.reason is QualityReason.MULTIPLE_FACES and result.face_count == 2
    assert "2 faces" in result.message


def test_tiny_face_is_refused(engine: FaceEngine, deepface_dir: Path) -> None:
    photo = read_image(deepface_dir, "img1.jpg")
    small = cv2.resize(photo, (90, 90 * photo.shape[0] // photo.shape[1]), interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[100 : 100 + small.shape[0], 200 : 200 + small.shape[1]] = small
    result = engine.assess_quality(canvas)
    assert result.reason is QualityReason.FACE_TOO_SMALL, result
    assert result.inter_eye_distance is not None and result.inter_eye_distance < 30


def test_blurred_face_is_refused(engine: FaceEngine, deepface_dir: Path) -> None:
    blurred = cv2.GaussianBlur(read_image(deepface_dir, "img1.jpg"), (0, 0), 15)
    result = engine.assess_quality(blurred)
    assert result.reason is QualityReason.BLURRED, result
    assert result.sharpness is not None and result.sharpness < engine.quality_policy.min_sharpness


def _face(landmarks: Sequence[Sequence[float]], score: float = 0.95) -> Face:
    return Face(box=(0.0, 0.0, 200.0, 240.0), landmarks=np.array(landmarks, dtype=np.float32), score=score)


FRONTAL = [[70, 100], [130, 100], [100, 135], [75, 170], [125, 170]]


def _sharp(face: Face) -> np.ndarray:
    return (np.indices((112, 112)).sum(axis=0) % 2 * 255).astype(np.uint8)[:, :, None].repeat(3, axis=2)


def test_faint_second_face_does_not_count_but_a_clear_one_does() -> None:
    policy = QualityPolicy(**QUALITY_GATE, min_detector_score=0.8)
    clear, faint = _face(FRONTAL, score=0.95), _face(FRONTAL, score=0.4)
    assert assess([clear, faint], _sharp, policy).accepted
    assert assess([clear, _face(FRONTAL, score=0.9)], _sharp, policy).reason is QualityReason.MULTIPLE_FACES
    assert assess([faint, _face(FRONTAL, score=0.5)], _sharp, policy).reason is QualityReason.MULTIPLE_FACES


def test_low_detector_score_and_turned_face_are_refused() -> None:
    policy = QualityPolicy(**QUALITY_GATE, min_detector_score=0.8)  # the floor the removed default had
    assert assess([_face(FRONTAL)], _sharp, policy).accepted
    assert assess([_face(FRONTAL, score=0.3)], _sharp, policy).reason is QualityReason.LOW_DETECTOR_SCORE
    turned = [[70, 100], [130, 100], [128, 135], [75, 170], [125, 170]]
    assert assess([_face(turned)], _sharp, policy).reason is QualityReason.POSE_NOT_FRONTAL
    tilted = [[70, 100], [130, 150], [95, 150], [60, 180], [105, 210]]
    assert assess([_face(tilted)], _sharp, policy).reason is QualityReason.POSE_NOT_FRONTAL


def test_a_clearly_dominant_face_is_the_subject_and_similar_faces_are_refused() -> None:
    """LFW-style portraits often show a second, much smaller face: the largest is the subject when its area is at
    least dominant_face_area_ratio times the next (policy); two faces of similar size stay ambiguous."""
    policy = QualityPolicy(**QUALITY_GATE, min_detector_score=0.8)
    subject = _face(FRONTAL)
    bystander = Face(box=(300.0, 10.0, 360.0, 82.0), landmarks=np.array(FRONTAL, np.float32) * 0.3 + 300, score=0.95)
    result = assess([bystander, subject], _sharp, policy)
    assert result.accepted and result.face is subject, result
    near_equal = Face(box=(300.0, 0.0, 480.0, 216.0), landmarks=np.array(FRONTAL, np.float32) + 300, score=0.95)
    refused = assess([subject, near_equal], _sharp, policy)
    assert refused.reason is QualityReason.MULTIPLE_FACES and refused.face_count == 2
    assert "similar size" in refused.message
    stricter = QualityPolicy(**{**QUALITY_GATE, "dominant_face_area_ratio": 20.0}, min_detector_score=0.8)
    assert assess([bystander, subject], _sharp, stricter).reason is QualityReason.MULTIPLE_FACES
