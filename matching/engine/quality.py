"""Enrolment image quality gate: exactly one face, large, sharp, confidently detected, frontal."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace

import cv2
import numpy as np

from .face import Face


class QualityReason(enum.StrEnum):
    ACCEPTED = "accepted"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    BLURRED = "blurred"
    LOW_DETECTOR_SCORE = "low_detector_score"
    POSE_NOT_FRONTAL = "pose_not_frontal"


@dataclass(frozen=True)
class QualityPolicy:
    """Floors an enrolment image must meet. Pixel sizes are in the uploaded image's pixels.

    No defaults: the limits come from the caller's policy (EngineConfig.quality) and the detector score floor
    from the model pack, since it is on that detector's own scale. min_detector_score also decides which faces
    count: a second face counts only if it is detected at least that clearly (see subject_candidates).
    """

    min_face_size: float
    min_inter_eye_distance: float
    min_sharpness: float
    min_detector_score: float
    max_yaw_ratio: float
    max_roll_degrees: float
    # Where several faces are detected clearly, the largest is the subject if its area is at least this many times
    # the next largest (4: the other face is at most half as wide, as a bystander behind the subject); else refused.
    dominant_face_area_ratio: float

    @classmethod
    def merged(cls, *limits: Mapping[str, float]) -> QualityPolicy:
        """The policy from `limits`, later mappings winning; ValueError naming what is missing or unknown."""
        values: dict[str, float] = {}
        for mapping in limits:
            values.update(mapping)
        names = [field.name for field in fields(cls)]
        missing, unknown = [n for n in names if n not in values], sorted(set(values) - set(names))
        if missing or unknown:
            raise ValueError(
                "The quality gate needs exactly " + ", ".join(names) + " (the limits from EngineConfig.quality, "
                "the detector score floor from the model pack)"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unknown: {', '.join(unknown)}" if unknown else "") + "."
            )
        return cls(**{name: float(values[name]) for name in names})


@dataclass(frozen=True)
class QualityResult:
    accepted: bool
    reason: QualityReason
    message: str
    face_count: int
    face: Face | None = None
    detector_score: float | None = None
    face_size: float | None = None
    inter_eye_distance: float | None = None
    sharpness: float | None = None
    yaw_ratio: float | None = None
    roll_degrees: float | None = None


def sharpness_of(aligned_crop: np.ndarray) -> float:
    """Variance of the Laplacian on the aligned crop, so the measure does not depend on image size."""
    grey = cv2.cvtColor(aligned_crop, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def pose_of(face: Face) -> tuple[float, float]:
    """(yaw ratio, roll degrees) from the landmarks.

    Yaw ratio: the nose tip's sideways offset from the eye midpoint, measured
    along the eye line and divided by the inter-eye distance (0 when frontal).
    Roll: the eye line's angle from horizontal.
    """
    right_eye, left_eye, nose = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    eye_line = left_eye - right_eye
    distance = float(np.linalg.norm(eye_line))
    if distance < 1e-6:
        return float("inf"), 0.0
    offset = float(np.dot(nose - (right_eye + left_eye) / 2, eye_line / distance))
    roll = float(np.degrees(np.arctan2(eye_line[1], eye_line[0])))
    return abs(offset) / distance, roll


def subject_candidates(faces: Sequence[Face], policy: QualityPolicy) -> list[Face]:
    """Faces that could be the subject: those detected clearly, or every face when none is clear.

    A faint detection (below min_detector_score) beside a clear face, such as a
    blurred bystander far behind, does not make the photo ambiguous.
    """
    clear = [face for face in faces if face.score >= policy.min_detector_score]
    return clear or list(faces)


def dominant_face(faces: Sequence[Face], ratio: float) -> Face | None:
    """The clearly largest face (area at least `ratio` times the next), or None where no face clearly dominates."""
    ranked = sorted(faces, key=lambda face: face.width * face.height, reverse=True)
    if len(ranked) < 2:
        return ranked[0] if ranked else None
    first, second = (face.width * face.height for face in ranked[:2])
    return ranked[0] if first >= ratio * second else None


def assess(faces: Sequence[Face], align: Callable[[Face], np.ndarray], policy: QualityPolicy) -> QualityResult:
    """Judge the detections of one enrolment image; align gives the aligned crop of a face."""
    faces = subject_candidates(faces, policy)
    if not faces:
        return QualityResult(
            False,
            QualityReason.NO_FACE,
            "No face found: upload a photo in which the subject's face is clearly visible.",
            face_count=0,
        )
    if len(faces) > 1 and (dominant := dominant_face(faces, policy.dominant_face_area_ratio)) is not None:
        faces = [dominant]
    if len(faces) > 1:
        return QualityResult(
            False,
            QualityReason.MULTIPLE_FACES,
            f"{len(faces)} faces of similar size found: upload a photo, or crop this one, so that only the subject's face is in it.",
            face_count=len(faces),
        )
    face = faces[0]
    yaw, roll = pose_of(face)
    measured = QualityResult(
        True,
        QualityReason.ACCEPTED,
        "The photo meets the enrolment quality checks.",
        face_count=1,
        face=face,
        detector_score=face.score,
        face_size=min(face.width, face.height),
        inter_eye_distance=face.inter_eye_distance,
        sharpness=sharpness_of(align(face)),
        yaw_ratio=yaw,
        roll_degrees=roll,
    )
    refusal = _first_refusal(measured, policy)
    if refusal is None:
        return measured
    return replace(measured, accepted=False, reason=refusal[0], message=refusal[1])


def _first_refusal(m: QualityResult, policy: QualityPolicy) -> tuple[QualityReason, str] | None:
    assert m.face_size is not None and m.inter_eye_distance is not None and m.sharpness is not None
    assert m.detector_score is not None and m.yaw_ratio is not None and m.roll_degrees is not None
    if m.face_size < policy.min_face_size or m.inter_eye_distance < policy.min_inter_eye_distance:
        return QualityReason.FACE_TOO_SMALL, (
            f"The face is too small ({m.face_size:.0f} px across, {m.inter_eye_distance:.0f} px between the eyes; "
            f"at least {policy.min_face_size:.0f} and {policy.min_inter_eye_distance:.0f} needed): "
            "upload a larger or closer photo."
        )
    if m.sharpness < policy.min_sharpness:
        return QualityReason.BLURRED, (
            "The face is blurred: upload a sharper photo (in focus, not moving, not heavily compressed)."
        )
    if m.detector_score < policy.min_detector_score:
        return QualityReason.LOW_DETECTOR_SCORE, (
            f"The face is not clearly visible (detector confidence {m.detector_score:.2f}, at least "
            f"{policy.min_detector_score:.2f} needed): upload a clearer, unobstructed, well-lit photo."
        )
    if m.yaw_ratio > policy.max_yaw_ratio or abs(m.roll_degrees) > policy.max_roll_degrees:
        return QualityReason.POSE_NOT_FRONTAL, (
            "The face is turned or tilted too far: upload a photo in which the subject looks at the camera."
        )
    return None
