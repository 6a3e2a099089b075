"""Recognisers: aligned 112x112 BGR crops in, L2-normalised float32 embeddings out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort

from .providers import fixed_batch

DEFAULT_BATCH = 32


class Recogniser(Protocol):
    embedding_size: int

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...


def effective_batch(session: Any, requested: int) -> int:
    """Crops per session run: the requested batch where the batch axis is dynamic, else the model's fixed one."""
    fixed = fixed_batch(session)
    return max(1, int(requested)) if fixed is None else fixed


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def crops_to_blob(crops: Sequence[np.ndarray], *, rgb: bool, mean: float, std: float) -> np.ndarray:
    batch = np.stack(crops).astype(np.float32)
    if rgb:
        batch = batch[..., ::-1]
    if mean or std != 1.0:
        batch = (batch - mean) / std
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


class OnnxRecogniser:
    """A recogniser session fed NCHW float32 with the manifest's channel order and normalisation."""

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        embedding_size: int,
        channel_order: str,
        mean: float,
        std: float,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self.session = session
        self.embedding_size = embedding_size
        self.rgb = channel_order.upper() == "RGB"
        self.mean = mean
        self.std = std
        # A model with a fixed batch of 1 is run once per crop (a loop); every shipped pack's is dynamic.
        self.batch_size = effective_batch(session, batch_size)
        self._input_name = session.get_inputs()[0].name

    @property
    def batched(self) -> bool:
        return fixed_batch(self.session) is None

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        if len(crops) == 0:
            return np.empty((0, self.embedding_size), dtype=np.float32)
        outputs = [
            self.session.run(
                None,
                {
                    self._input_name: crops_to_blob(
                        crops[i : i + self.batch_size], rgb=self.rgb, mean=self.mean, std=self.std
                    )
                },
            )[0]
            for i in range(0, len(crops), self.batch_size)
        ]
        return l2_normalise(np.concatenate(outputs))


class ArcFaceRecogniser:
    """ArcFace through insightface's model_zoo (its get_feat does RGB and (x - 127.5) / 127.5)."""

    def __init__(self, model: Any, *, embedding_size: int, batch_size: int = DEFAULT_BATCH) -> None:
        self.model = model
        self.embedding_size = embedding_size
        self.batch_size = effective_batch(getattr(model, "session", None), batch_size)

    @property
    def batched(self) -> bool:
        return fixed_batch(getattr(self.model, "session", None)) is None

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        if len(crops) == 0:
            return np.empty((0, self.embedding_size), dtype=np.float32)
        outputs = [
            self.model.get_feat(list(crops[i : i + self.batch_size])) for i in range(0, len(crops), self.batch_size)
        ]
        return l2_normalise(np.concatenate(outputs))


def embed_each(recogniser: Recogniser, crops: Sequence[np.ndarray]) -> np.ndarray:
    """One session run per crop: the reference batched embedding must equal, and the batch-1 benchmark row."""
    if len(crops) == 0:
        return np.empty((0, recogniser.embedding_size), dtype=np.float32)
    return np.concatenate([recogniser.embed([crop]) for crop in crops])
