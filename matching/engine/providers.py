"""ONNX Runtime execution providers and session options."""

from __future__ import annotations

from collections.abc import Sequence

import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def select_providers(requested: Sequence[str] | None = None) -> list[str]:
    """CUDA where this onnxruntime build has it (onnxruntime-gpu with a GPU), then CPU."""
    available = ort.get_available_providers()
    if requested:
        missing = [name for name in requested if name not in available]
        if missing:
            raise ValueError(f"ONNX Runtime here lacks {', '.join(missing)}; available: {', '.join(available)}.")
        return list(requested)
    return [name for name in (CUDA, CPU) if name in available]


def session_options(
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
    *,
    thread_spinning: bool = False,
) -> ort.SessionOptions:
    options = ort.SessionOptions()
    if not thread_spinning:
        # Each session owns a thread pool; idle pools that spin steal the cores the next model needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if intra_op_threads:
        options.intra_op_num_threads = int(intra_op_threads)
    if inter_op_threads:
        options.inter_op_num_threads = int(inter_op_threads)
    options.log_severity_level = 3  # warnings about unused initializers are noise here
    return options


def create_session(model: bytes, options: ort.SessionOptions, providers: Sequence[str]) -> ort.InferenceSession:
    """Build a session from verified bytes, so what was hashed is what runs."""
    return ort.InferenceSession(model, sess_options=options, providers=list(providers))
