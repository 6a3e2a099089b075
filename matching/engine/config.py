"""Plain configuration the engine receives; the Django side maps its settings onto it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class EngineConfig:
    """Where model files live and how ONNX Runtime runs.

    model_dir: operator folder holding one sub-folder per insightface pack
        (``<model_dir>/buffalo_l/det_10g.onnx`` ...).
    model_cache: folder for derived ONNX files (model weights only, never biometrics).
    insightface_licence_acknowledged: the operator accepts that insightface
        weights are licensed for non-commercial research only.
    intra_op_threads / inter_op_threads: ONNX Runtime thread pools (None: its default).
    thread_spinning: let idle ONNX Runtime threads spin; faster only where cores are not shared
        between the detector's and the recogniser's thread pools (measured slower on 2 cores).
    providers: explicit ONNX Runtime providers (None: CUDA where available, else CPU), e.g.
        ("CUDAExecutionProvider", "CPUExecutionProvider").
    provider_fallback: where an explicit provider is not available here, False refuses to load (ValueError saying
        which, why and how to get it); True runs on what is, and FaceEngine.provider_notes says so.
    quality: the enrolment quality gate's limits (min_face_size, min_inter_eye_distance, min_sharpness,
        max_yaw_ratio, max_roll_degrees); the pack adds its detector score floor. The engine has no
        defaults of its own: the Django side passes settings.LFR_QUALITY_GATE.
    """

    model_dir: Path | None = None
    model_cache: Path = Path("var/models")
    insightface_licence_acknowledged: bool = False
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    thread_spinning: bool = False
    providers: tuple[str, ...] | None = None
    provider_fallback: bool = False
    quality: Mapping[str, float] = field(default_factory=dict)
