"""Choosing CUDA by configuration: where it is missing the engine says so, why, and what runs instead."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import onnxruntime as ort
import pytest

from matching.engine import EngineConfig, load_engine
from matching.engine import providers

CUDA_AND_CPU = ("CUDAExecutionProvider", "CPUExecutionProvider")
needs_no_cuda = pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(),
                                   reason="CUDA is available here: the fallback cannot be seen")


@pytest.fixture
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(providers, "_installed", lambda name: name == "onnxruntime")


def test_asking_for_cuda_on_a_cpu_build_refuses_and_says_how_to_get_it(cpu_only: None) -> None:
    with pytest.raises(ValueError) as refused:
        providers.choose_providers(CUDA_AND_CPU)
    message = str(refused.value)
    assert "lacks CUDAExecutionProvider" in message and "CPU-only onnxruntime" in message
    assert "pip install -e '.[gpu]'" in message


def test_with_fallback_cuda_is_left_out_and_the_note_says_cpu_runs_instead(cpu_only: None) -> None:
    choice = providers.choose_providers(("CUDAExecutionProvider",), fallback=True)

    assert choice.providers == ["CPUExecutionProvider"]
    [note] = choice.notes
    assert note.startswith("CUDAExecutionProvider was asked for but is not available here (this is the CPU-only")
    assert note.endswith("running on CPUExecutionProvider instead.")


def test_cuda_is_kept_first_where_the_runtime_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])

    choice = providers.choose_providers(CUDA_AND_CPU, fallback=True)

    assert choice.providers == list(CUDA_AND_CPU) and choice.notes == []
    assert providers.cuda_unavailable_reason() == ""


def test_both_runtimes_installed_is_named_as_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(providers, "_installed", lambda name: True)

    assert "both installed" in providers.cuda_unavailable_reason()
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in providers.cuda_unavailable_reason()


class Session:
    def __init__(self, active: list[str]) -> None:
        self.active = active

    def get_providers(self) -> list[str]:
        return self.active


def test_a_session_quietly_put_on_cpu_is_reported() -> None:
    sessions: list[Any] = [Session(list(CUDA_AND_CPU)), Session(["CPUExecutionProvider"])]

    [note] = providers.session_fallback_notes(sessions, CUDA_AND_CPU)

    assert note.startswith("CUDAExecutionProvider was asked for but 1 of 2 sessions run without it")
    assert providers.session_fallback_notes(sessions[:1], CUDA_AND_CPU) == []


def test_cuda_libraries_are_preloaded_once_and_only_for_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(ort, "preload_dlls", lambda: calls.append(1) or print("loaded libcudnn.so.9"), raising=False)
    monkeypatch.setattr(ort, "get_available_providers", lambda: list(CUDA_AND_CPU))
    monkeypatch.setattr(providers, "_preloaded", [])

    assert providers.preload_cuda(["CPUExecutionProvider"]) == []
    assert providers.preload_cuda(list(CUDA_AND_CPU)) == ["loaded libcudnn.so.9"]
    providers.preload_cuda(list(CUDA_AND_CPU))

    assert calls == [1]


@needs_no_cuda
def test_an_engine_configured_for_cuda_here_refuses_or_falls_back_to_cpu(engine_config: EngineConfig) -> None:
    asking = replace(engine_config, providers=CUDA_AND_CPU)
    with pytest.raises(ValueError, match="lacks CUDAExecutionProvider"):
        load_engine("yunet-sface", asking)

    engine = load_engine("yunet-sface", replace(asking, provider_fallback=True))

    assert engine.providers == ("CPUExecutionProvider",)
    assert engine.active_providers == ("CPUExecutionProvider",)
    assert len(engine.provider_notes) == 1 and "CUDAExecutionProvider" in engine.provider_notes[0]


def test_an_engine_on_the_providers_it_was_given_has_no_notes(engine_config: EngineConfig) -> None:
    engine = load_engine("yunet-sface", replace(engine_config, providers=("CPUExecutionProvider",)))

    assert engine.active_providers == ("CPUExecutionProvider",) and engine.provider_notes == ()
    assert len(engine.sessions) == 2
