"""ONNX Runtime execution providers and session options."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
CUDA_HOW = ("CUDA needs the onnxruntime-gpu build instead of onnxruntime (pip install -e '.[gpu]' brings it with CUDA "
            "and cuDNN as pip packages) and an NVIDIA GPU with its driver")
_preload_lock = threading.Lock()
_preloaded: list[str] = []


def select_providers(requested: Sequence[str] | None = None) -> list[str]:
    """CUDA where this onnxruntime build has it (onnxruntime-gpu with a GPU), then CPU."""
    available = ort.get_available_providers()
    if requested:
        missing = [name for name in requested if name not in available]
        if missing:
            raise ValueError(f"ONNX Runtime here lacks {', '.join(missing)}; available: {', '.join(available)}."
                             + (f" {cuda_unavailable_reason()}" if CUDA in missing else ""))
        return list(requested)
    return [name for name in (CUDA, CPU) if name in available]


@dataclass(frozen=True)
class ProviderChoice:
    """The providers sessions are created with, and what was asked for but is not there (one sentence each)."""

    providers: list[str]
    notes: list[str] = field(default_factory=list)


def choose_providers(requested: Sequence[str] | None = None, *, fallback: bool = False) -> ProviderChoice:
    """select_providers, except that with fallback a requested provider this runtime lacks is left out, with a note
    saying so and what runs instead (CPU is always kept last), rather than a ValueError."""
    if not requested or not fallback:
        return ProviderChoice(select_providers(requested))
    available = ort.get_available_providers()
    kept = [name for name in requested if name in available]
    if CPU not in kept:
        kept.append(CPU)
    notes = [f"{name} was asked for but is not available here ({_lack_reason(name)}): running on "
             f"{', '.join(kept)} instead." for name in requested if name not in available]
    return ProviderChoice(kept, notes)


def _lack_reason(name: str) -> str:
    if name != CUDA:
        return "this onnxruntime build lacks it"
    reason = cuda_unavailable_reason().rstrip(".")
    return reason[:1].lower() + reason[1:]


def cuda_unavailable_reason() -> str:
    """Why this onnxruntime offers no CUDAExecutionProvider, in words ('' where it does)."""
    if CUDA in ort.get_available_providers():
        return ""
    installed = {name for name in ("onnxruntime", "onnxruntime-gpu") if _installed(name)}
    if installed == {"onnxruntime", "onnxruntime-gpu"}:
        return ("onnxruntime and onnxruntime-gpu are both installed and the CPU one's files won (both write the "
                "onnxruntime package): pip uninstall -y onnxruntime onnxruntime-gpu, then pip install "
                "'onnxruntime-gpu[cuda,cudnn]' alone.")
    if "onnxruntime-gpu" in installed:
        return "onnxruntime-gpu is installed but its CUDA provider did not register (no NVIDIA driver here?)."
    return f"This is the CPU-only onnxruntime build: {CUDA_HOW}."


def _installed(distribution: str) -> bool:
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def preload_cuda(providers: Sequence[str]) -> list[str]:
    """Load the CUDA and cuDNN libraries of the nvidia-* pip packages (onnxruntime-gpu[cuda,cudnn]) before the first
    CUDA session, once per process (onnxruntime.preload_dlls, ORT 1.21+); what it printed, as lines. Without it a
    CUDA session whose libraries are not on the loader's path quietly runs on CPU."""
    preload = getattr(ort, "preload_dlls", None)
    if CUDA not in providers or CUDA not in ort.get_available_providers() or not callable(preload):
        return []
    with _preload_lock:
        if not _preloaded:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):  # it prints failures rather than raising
                preload()
            _preloaded.append(printed.getvalue())
    return [line for line in _preloaded[0].splitlines() if line.strip()]


def session_fallback_notes(sessions: Sequence[Any], requested: Sequence[str]) -> list[str]:
    """A sentence for each requested provider that a session did not take up: ONNX Runtime falls back to CPU with
    only a log line where, say, libcudnn cannot be loaded."""
    notes = []
    for name in requested:
        if name == CPU:
            continue
        missing = [session for session in sessions if name not in session.get_providers()]
        if missing:
            notes.append(f"{name} was asked for but {len(missing)} of {len(sessions)} sessions run without it "
                         f"(on {', '.join(missing[0].get_providers())}): its libraries did not load (for CUDA: "
                         f"libcudart, libcublas, libcudnn; pip install -e '.[gpu]' brings them).")
    return notes


def fixed_batch(session: Any) -> int | None:
    """The batch size a session's first input is fixed to, or None where its batch axis is dynamic (or unknown).

    Only the input is read: w600k_mbf declares its output as [1, 512] yet returns one row per input row.
    """
    inputs = session.get_inputs() if hasattr(session, "get_inputs") else []
    shape = inputs[0].shape if inputs else None
    axis = shape[0] if shape else None
    return axis if isinstance(axis, int) and axis > 0 else None


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
