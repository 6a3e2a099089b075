"""scripts/gpu_benchmark.py as a GPU machine runs it, here on CPU with --quick: the tables it prints."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest

from .support import REPO

SCRIPT = REPO / "scripts" / "gpu_benchmark.py"
NUMBER = r"(\d+\.\d)"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(faces_dir: Path, tmp_path: Path, *args: str, timeout: float) -> tuple[str, dict]:
    figures = tmp_path / "figures.json"
    env = {**os.environ, "LFR_FACES_DIR": str(faces_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("LFR_MODEL_DIR", None)
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(figures), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads(figures.read_text())


def test_the_engine_part_prints_a_row_per_pack_and_provider(faces_dir: Path, tmp_path: Path) -> None:
    out, figures = run_script(faces_dir, tmp_path, "--parts", "engine", "--packs", "yunet-sface,buffalo_s",
                              "--providers", "cpu,cuda", timeout=240)

    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("pack "))
    assert header.split()[:9] == ["pack", "provider", "runs", "on", "batches", "faces", "frames/s", "frames/s",
                                  "x8"]
    assert header.endswith("emb/s b=1   emb/s b=8  emb/s b=32")
    batches = {"yunet-sface": "embed", "buffalo_s": "detect+embed"}
    for pack, batching in batches.items():
        [row] = [line for line in lines if re.match(rf"{pack}\s+CPU\s", line)]
        match = re.fullmatch(rf"{pack}\s+CPU\s+CPU\s+{re.escape(batching)}\s+1" + rf"\s+{NUMBER}" * 5, row)
        assert match, row
        assert all(float(value) > 0 for value in match.groups())
        [cuda] = [line for line in lines if re.match(rf"{pack}\s+CUDA\s", line)]
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            assert "not available: This is the CPU-only onnxruntime build" in cuda
    assert {(row["pack"], row["provider"]) for row in figures["engine"]} == {
        (pack, provider) for pack in batches for provider in ("CPU", "CUDA")}
    assert all(row["status"] == "ok" for row in figures["engine"] if row["provider"] == "CPU")


@pytest.mark.worker
def test_the_pipeline_part_runs_the_whole_system_with_one_frames_worker(faces_dir: Path, tmp_path: Path) -> None:
    out, figures = run_script(faces_dir, tmp_path, "--parts", "pipeline", "--workers", "1", "--duration", "5",
                              timeout=300)

    [row] = figures["pipeline"]
    assert row["status"] == "ok", row
    assert row["workers"] == 1 and row["processed"] > 0 and row["accepted"] > 0 and row["drained"]
    table = out[out.index("(b) End to end"):].splitlines()
    assert table[1].split() == ["workers", "nodes", "offered/s", "accepted/s", "processed/s", "engine/s",
                                "engine", "xN/s", "state"]
    assert re.match(rf"\s+1\s+\d+\s+{NUMBER}\s+{NUMBER}\s+{row['processed']:.1f}\s+{NUMBER}\s+n/a\s+", table[2])


def test_failed_runs_and_missing_figures_are_printed_as_such() -> None:
    script = load_script()
    rows = [{"workers": 2, "nodes": 1, "offered": 10.0, "status": "benchmark_pipeline failed (1): boom"},
            {"workers": 4, "nodes": 2, "offered": 20.0, "status": "ok", "accepted": 19.5, "processed": 12.25,
             "engine": 30.0, "engine_parallel": None, "saturated": True, "drained": False}]

    lines = script.pipeline_table(rows, "CUDAExecutionProvider,CPUExecutionProvider")

    assert lines[2].split() == ["2", "1", "10.0", "benchmark_pipeline", "failed", "(1):", "boom"]
    assert lines[3].split() == ["4", "2", "20.0", "19.5", "12.2", "30.0", "n/a", "at", "saturation,", "NOT",
                                "drained"]


@pytest.mark.parametrize("args, complaint", [(["--providers", "rocm"], "unknown rocm"),
                                             (["--workers", "two"], "whole numbers"),
                                             (["--workers", "0"], "at least one"),
                                             (["--parts", "everything"], "engine, pipeline or both")])
def test_bad_options_are_refused_with_what_to_give(args: list[str], complaint: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_script().parse_args(args)
    assert complaint in capsys.readouterr().err
