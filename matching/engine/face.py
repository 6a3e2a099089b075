"""A detected face."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)  # landmarks is an array: compare faces by identity
class Face:
    """A face found in an image, in that image's pixel coordinates.

    box: x1, y1, x2, y2. landmarks: 5x2 float32 in the order right eye, left
    eye (of the subject: image-left first), nose tip, right and left mouth corner.
    score: the detector's confidence in [0, 1].
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def inter_eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))
