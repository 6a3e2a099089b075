"""Alignment: a similarity transform of the five landmarks onto the ArcFace template."""

from __future__ import annotations

import warnings

import numpy as np
from insightface.utils import face_align

from .face import Face

ALIGNED_SIZE = 112


def align_face(image: np.ndarray, face: Face, size: int = ALIGNED_SIZE) -> np.ndarray:
    """The size x size BGR crop both SFace and ArcFace expect (same 5-point template)."""
    with warnings.catch_warnings():
        # scikit-image deprecates SimilarityTransform.estimate, which norm_crop still calls.
        warnings.simplefilter("ignore", FutureWarning)
        return face_align.norm_crop(image, landmark=face.landmarks, image_size=size)
