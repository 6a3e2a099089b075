"""ONNX Runtime providers: CUDA where the runtime offers it, else CPU; thread counts configurable."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from matching.engine import providers


def test_cuda_first_where_available(monkeypatch: pytest.MonkeyPatch) -> None:
    available = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: available)
    assert providers.select_providers() == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_cpu_only_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert providers.select_providers() == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="CUDAExecutionProvider"):
        providers.select_providers(["CUDAExecutionProvider"])


def test_thread_counts_are_applied() -> None:
    options = providers.session_options(intra_op_threads=2, inter_op_threads=1)
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
