"""Calibration maths, the expected-false-alert estimate, and a full calibration run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matching.engine import EngineConfig
from matching.engine.calibration import (
    best_accuracy,
    error_rates,
    expected_false_alerts,
    load_calibration,
    main,
    threshold_for_fmr,
)


def test_error_rates_count_score_at_threshold_as_a_match() -> None:
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    genuine = np.array([True, True, False, False])
    fmr, fnmr = error_rates(scores, genuine, np.array([0.5, 0.6]))
    assert fmr.tolist() == [0.5, 0.0] and fnmr.tolist() == [0.0, 0.5]


def test_threshold_for_target_fmr_lies_strictly_above_the_rejected_impostors() -> None:
    impostors = np.array([0.1, 0.2, 0.447, 0.448])
    assert threshold_for_fmr(impostors, 0.0) == pytest.approx(0.45)
    assert threshold_for_fmr(impostors, 0.25) == pytest.approx(0.45)  # 1 of 4 allowed: the 0.448
    assert threshold_for_fmr(np.array([0.1, 0.2, 0.3, 0.448]), 0.25) == pytest.approx(0.31)


def test_best_accuracy_finds_the_separating_gap() -> None:
    threshold, accuracy = best_accuracy(np.array([0.8, 0.7, 0.3, 0.2]), np.array([True, True, False, False]))
    assert accuracy == 1.0 and 0.3 < threshold < 0.7


def test_expected_false_alerts_is_watchlist_times_footfall_times_fmr() -> None:
    calibration = {
        "conditions": {
            "colour": {
                "all_identity_pairs": {
                    "impostor_pairs": 1000,
                    "roc": [
                        {"threshold": 0.3, "fmr": 0.01, "fnmr": 0.0, "false_matches": 10},
                        {"threshold": 0.4, "fmr": 0.001, "fnmr": 0.01, "false_matches": 1},
                        {"threshold": 0.5, "fmr": 0.0, "fnmr": 0.05, "false_matches": 0},
                    ],
                }
            }
        }
    }
    estimate = expected_false_alerts(calibration, 0.45, watchlist_size=200, footfall=5_000)
    assert estimate.fmr == 0.001  # the calibrated threshold at or below 0.45: never an underestimate
    assert estimate.expected == pytest.approx(200 * 5_000 * 0.001)
    assert estimate.fmr_upper_95 > estimate.fmr and estimate.expected_upper_95 > estimate.expected
    zero = expected_false_alerts(calibration, 0.5, watchlist_size=200, footfall=5_000)
    assert zero.expected == 0 and zero.fmr_upper_95 == pytest.approx(1 - 0.05 ** (1 / 1000), rel=1e-3)


def test_calibration_run_saves_json_and_plot_without_embeddings(
    faces_dir: Path, engine_config: EngineConfig, tmp_path: Path
) -> None:
    lines: list[str] = []
    results = main(
        pack_ids=["yunet-sface"], out_dir=tmp_path, faces_dir=faces_dir, config=engine_config, write=lines.append
    )

    saved = json.loads((tmp_path / "yunet-sface.json").read_text())
    assert (tmp_path / "yunet-sface.png").stat().st_size > 10_000
    assert saved["pack"] == "yunet-sface" and set(saved["conditions"]) == {"colour", "greyscale"}
    colour = saved["conditions"]["colour"]
    assert colour["verification"]["accuracy_at_pack_threshold"] >= 0.99
    assert colour["open_set"]["tpir"] >= 0.95 and colour["open_set"]["fpir"] == 0
    assert any("TPIR" in line for line in lines) and any("accuracy" in line for line in lines)
    assert not _float_vectors(saved), "calibration output must hold no embeddings"
    assert results["yunet-sface"]["conditions"]["greyscale"]["pack_threshold"] > 0
    assert load_calibration(tmp_path, "yunet-sface") == saved
    estimate = expected_false_alerts(saved, saved["conditions"]["colour"]["pack_threshold"], 100, 10_000)
    assert estimate.impostor_comparisons == 1690 and estimate.expected_upper_95 >= estimate.expected


def _float_vectors(node: object) -> list[list[float]]:
    """Lists of floats as long as an embedding (128 or 512 values)."""
    found = []
    if isinstance(node, dict):
        for value in node.values():
            found += _float_vectors(value)
    elif isinstance(node, list):
        if len(node) in (128, 512) and all(isinstance(v, float) for v in node):
            found.append(node)
        for value in node:
            found += _float_vectors(value)
    return found
