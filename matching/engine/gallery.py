"""Exact 1:N search: cosine similarity over a contiguous, L2-normalised float32 matrix."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from .embed import l2_normalise


def mean_template(templates: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """One watchlist entry's gallery row from its enrolment images' templates: the L2-normalised mean of the
    (L2-normalised) templates. On our calibration data the mean of two enrolment images found more listed people
    at a false-match rate of 1 in 1,000 (97.1%) than either image alone (92.7%) or the best of the two."""
    rows = l2_normalise(np.atleast_2d(np.asarray(templates, dtype=np.float32)))
    if rows.shape[0] == 0:
        raise ValueError("An entry's template needs at least one image's template.")
    return l2_normalise(rows.mean(axis=0))


@dataclass(frozen=True)
class Match:
    index: int
    label: Hashable
    score: float


class Gallery:
    """Enrolled templates (one row each) with a label per row, e.g. a watchlist entry id (the live pipeline: one
    row per entry, its images' mean_template).

    Held in memory only: the engine never writes a gallery to disk.
    """

    def __init__(self, embeddings: np.ndarray, labels: Sequence[Hashable] | None = None) -> None:
        matrix = np.asarray(embeddings, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(f"Gallery embeddings must be 2-D (entries x dimensions), got shape {matrix.shape}.")
        self._matrix = l2_normalise(matrix)
        self._labels: list[Hashable] = list(range(len(matrix))) if labels is None else list(labels)
        if len(self._labels) != len(self._matrix):
            raise ValueError(f"{len(self._labels)} labels for {len(self._matrix)} embeddings.")

    @classmethod
    def empty(cls, dim: int) -> Gallery:
        return cls(np.empty((0, dim), dtype=np.float32), [])

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def dim(self) -> int:
        return int(self._matrix.shape[1])

    @property
    def labels(self) -> list[Hashable]:
        return list(self._labels)

    def add(self, embeddings: np.ndarray, labels: Sequence[Hashable]) -> None:
        rows = l2_normalise(np.atleast_2d(np.asarray(embeddings, dtype=np.float32)))
        if rows.shape[1] != self.dim or len(rows) != len(labels):
            raise ValueError(f"Expected {len(labels)} rows of {self.dim} dimensions, got shape {rows.shape}.")
        self._matrix = np.ascontiguousarray(np.vstack([self._matrix, rows]))
        self._labels.extend(labels)

    def scores(self, probes: np.ndarray) -> np.ndarray:
        """Cosine similarity of each probe (rows, L2-normalised) with every entry: (probes, entries)."""
        probes = np.asarray(probes, dtype=np.float32)
        if probes.ndim == 1:
            return (self._matrix @ probes)[None, :]  # matrix-vector is the fastest path for one probe
        return probes @ self._matrix.T

    def search(self, probes: np.ndarray, *, k: int = 1, threshold: float | None = None) -> list[list[Match]]:
        """Top-k entries per probe, best first; only scores >= threshold when one is given."""
        if len(self) == 0:
            return [[] for _ in range(len(np.atleast_2d(probes)))]
        scores = self.scores(l2_normalise(probes))
        k = min(k, scores.shape[1])
        results = []
        for row in scores:
            if k == 1:
                top = np.array([int(np.argmax(row))])
            else:
                top = np.argpartition(row, -k)[-k:]
                top = top[np.argsort(-row[top], kind="stable")]
            results.append(
                [Match(int(i), self._labels[i], float(row[i])) for i in top if threshold is None or row[i] >= threshold]
            )
        return results
