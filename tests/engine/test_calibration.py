"""Calibration maths on hand-made scores, the proposal rule, and a quick calibration run on real images."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from matching.engine import EngineConfig, thresholds
from matching.engine.calibration import (
    GALLERY_SIZES,
    GRID,
    Enrolled,
    Image,
    Measured,
    enrol,
    equitability,
    expected_false_alerts,
    fmr_upper_95,
    gallery_chance,
    gallery_check,
    load_calibration,
    main,
    open_set,
    part_of,
)


def _unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_people_fall_in_one_part_by_identity_about_half_each() -> None:
    names = [f"person {n}" for n in range(2000)]
    parts = [part_of(name) for name in names]
    assert parts == [part_of(name) for name in names]  # fixed, not random
    assert 900 < parts.count("choose") < 1100 and set(parts) == {"choose", "report"}


def test_clopper_pearson_bound_and_the_chance_over_a_gallery() -> None:
    assert float(fmr_upper_95(0, 3000)) == pytest.approx(1 - 0.05 ** (1 / 3000), rel=1e-6)  # the "rule of three"
    assert float(fmr_upper_95(10, 1000)) > 0.01
    assert float(gallery_chance(np.array([1e-6]), 1000)[0]) == pytest.approx(1 - (1 - 1e-6) ** 1000, rel=1e-9)
    assert float(gallery_chance(np.array([0.0]), 10**6)[0]) == 0.0


def _enrolled() -> Enrolled:
    """Two people on the list (a, b); a probe of a (mated), a probe of c (off the list) close to a."""
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    probes = np.vstack([_unit(0.95, 0.05, 0.3), _unit(0.8, 0.6, 0), _unit(0.1, 0.2, 1.0)])
    return Enrolled(gallery_ids=["a", "b"], gallery=np.vstack([a, b]), enrolment_keys={"a1", "b1"},
                    probe_keys=["a2", "c1", "d1"], probe_ids=["a", "c", "d"], probes=probes)


def test_open_set_curves_follow_the_per_probe_formulas() -> None:
    result = open_set(_enrolled(), grid=[0.3, 0.5, 0.7, 0.9], sizes=[1, 2])
    # a2 vs b (its own template a never counts), c1 vs a and b, d1 vs a and b: 1 + 2 + 2 comparisons.
    assert result["impostor_comparisons"] == 5 and result["templates"] == 2 and result["probes"] == 3
    scores_c = [0.8, 0.6]  # c1 against a and b
    expected_matches = [sum(s >= t for s in scores_c) + (0.05 / np.linalg.norm([0.95, 0.05, 0.3]) >= t)
                        + sum(s >= t for s in [0.1 / math.sqrt(1.05), 0.2 / math.sqrt(1.05)])
                        for t in (0.3, 0.5, 0.7, 0.9)]
    assert result["false_matches"] == expected_matches
    # FPIR at N = 2 and t = 0.7: only c1 has a rate (1 of 2 templates), so its chance is 1 - (1/2)^2; mean of 3.
    assert result["fpir"]["2"][2] == pytest.approx((1 - 0.5**2) / 3, abs=1e-8)
    assert result["fpir"]["1"][2] == pytest.approx(0.5 / 3, abs=1e-8)
    # The one mated probe (a2) scores 0.95/|.| with a: found up to 0.9, and b never beats it.
    genuine = 0.95 / np.linalg.norm([0.95, 0.05, 0.3])
    assert result["mated_probes"] == 1 and result["tpir"]["2"] == [float(genuine >= t) for t in (0.3, 0.5, 0.7, 0.9)]
    assert result["rank1"] == 1.0
    assert result["top_impostors"][0] == {"probe": "c1", "entry": "a", "score": 0.8}


def test_a_mated_probe_is_lost_as_the_gallery_grows_when_impostors_beat_it() -> None:
    enrolled = Enrolled(gallery_ids=["a", "b", "c"], gallery=np.vstack([_unit(1, 0, 0), _unit(0, 1, 0),
                                                                         _unit(0.7, 0.7, 0.1)]),
                        enrolment_keys=set(), probe_keys=["a2"], probe_ids=["a"], probes=_unit(0.6, 0.55, 0)[None])
    result = open_set(enrolled, grid=[0.1], sizes=[1, 2, 3])
    # Its genuine score is beaten by c (one of the 2 others): found at N with (1 - 1/2)^(N - 1).
    assert [result["tpir"][str(n)][0] for n in (1, 2, 3)] == pytest.approx([1.0, 0.5, 0.25])
    assert result["rank1"] == 0.0


def test_two_image_enrolment_is_the_normalised_mean_of_the_first_two_accepted() -> None:
    images = [Image("p1", "p"), Image("p2", "p"), Image("p3", "p"), Image("q1", "q"), Image("q2", "q")]
    measured = {"p1": Measured(_unit(1, 0), "accepted", True), "p2": Measured(_unit(0, 1), "blurred", False),
                "p3": Measured(_unit(0, 1), "accepted", True), "q1": Measured(_unit(1, 1), "accepted", True),
                "q2": Measured(None, "no_face", False)}
    two = enrol(images, measured, per_entry=2)
    assert two.gallery_ids == ["p"] and two.enrolment_keys == {"p1", "p3"}  # q has one accepted image only
    np.testing.assert_allclose(two.gallery[0], _unit(1, 1), atol=1e-6)
    assert two.probe_keys == ["p1", "p2", "p3", "q1"]  # every image with a face is a probe, gated or not
    one = enrol(images, measured, per_entry=1)
    assert one.gallery_ids == ["p", "q"] and one.enrolment_keys == {"p1", "q1"}


def test_gallery_check_counts_alerts_of_people_off_the_list() -> None:
    rng = np.random.default_rng(7)
    gallery = rng.normal(size=(40, 16)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    ids = [f"p{n}" for n in range(40)]
    enrolled = Enrolled(ids, gallery, set(ids), ids, ids, gallery.copy())  # each probe is its own template
    check = gallery_check(enrolled, threshold=0.999, size=30)
    assert check["alerts"] == 0 and check["probes_searched"] == 40  # 4 rotations of 10 off the list
    assert gallery_check(enrolled, threshold=-1.0, size=30)["rate"] == 1.0


def test_equitability_counts_impostor_pairs_within_each_group() -> None:
    templates = np.vstack([_unit(1, 0), _unit(1, 0.01), _unit(0, 1), _unit(0.01, 1)])
    labels = [{"race": "white", "gender": "female", "age_band": "25_34"},
              {"race": "white", "gender": "male", "age_band": "25_34"},
              {"race": "black", "gender": "female", "age_band": "25_34"},
              {"race": "black", "gender": "male", "age_band": "65_plus"}]
    table = equitability(templates, labels, grid=[0.5, 0.9999])
    assert table["overall"] == {"images": 4, "pairs": 6, "false_matches": [2, 2]}
    groups = {(g["attribute"], g["group"]): g for g in table["groups"]}
    assert groups["race", "white"]["pairs"] == 1 and groups["race", "white"]["false_matches"] == [1, 1]
    assert groups["gender", "female"]["false_matches"] == [0, 0]
    assert ("age_band", "65_plus") not in groups  # one image makes no pair


def _synthetic(choose_fpir_1000: list[float], report_fpir_1000: list[float]) -> dict:
    grid = [0.3, 0.4, 0.5, 0.6]
    sizes = [1, 1000]

    def part(fpir_1000: list[float], people: int) -> dict:
        return {"identities": people, "templates": people, "probes": 10 * people, "mated_probes": people,
                "impostor_comparisons": 5_000_000, "false_matches": [500, 50, 5, 0],
                "fmr_upper_95": [1.1e-4, 1.3e-5, 2e-6, 6e-7],
                "fpir": {"1": [f / 1000 for f in fpir_1000], "1000": fpir_1000},
                "tpir": {"1": [0.99, 0.98, 0.95, 0.9], "1000": [0.9, 0.92, 0.9, 0.85]}}

    return {"format": 2, "pack": "test-pack", "created": "2026-12-01T00:00:00+00:00", "grid": grid,
            "gallery_sizes": sizes,
            "conditions": {"greyscale": {"dataset": "lfw-dev", "enrolment": {
                "1": {"choose": part(choose_fpir_1000, 1400), "report": part(report_fpir_1000, 1410)}}}},
            "equitability": {"grid": grid, "overall": {"images": 10, "pairs": 1000, "false_matches": [40, 10, 2, 0]},
                             "groups": [{"attribute": "race", "group": "black", "images": 4, "pairs": 100,
                                         "false_matches": [8, 2, 0, 0]}]}}


def test_the_proposal_is_chosen_on_the_choose_part_only_and_on_its_upper_bound() -> None:
    calibration = _synthetic([0.05, 0.004, 0.0009, 0.0], report_fpir_1000=[0.2, 0.1, 0.05, 0.0007])
    proposal = thresholds.propose(calibration, condition="greyscale", watchlist_size=1000, target=0.001)
    # At 0.5 the point estimate (0.0009) meets 1 in 1,000 but its bound (1 - (1 - 2e-6)^1000 = 0.002) does not.
    assert proposal.threshold == 0.6 and proposal.meets_target and proposal.measurable
    assert proposal.per_look == 0.0 and proposal.per_look_upper_95 == pytest.approx(1 - (1 - 6e-7) ** 1000)
    assert proposal.report_per_look == pytest.approx(0.0007)  # shown beside it, never used to choose
    assert proposal.tpir == pytest.approx(0.85) and proposal.is_bound
    assert "chosen on 1,400 people, checked on 1,410 others" in proposal.source
    changed = _synthetic([0.05, 0.004, 0.0009, 0.0], report_fpir_1000=[0.0, 0.0, 0.0, 0.0])
    assert thresholds.propose(changed, condition="greyscale", watchlist_size=1000, target=0.001).threshold == 0.6
    at_half = thresholds.estimate(calibration, condition="greyscale", threshold=0.5, watchlist_size=1000)
    assert at_half.per_passer_by == pytest.approx(0.0009) and at_half.per_passer_by_upper_95 > 0.001


def test_k_of_one_and_smaller_watchlists_move_the_proposal() -> None:
    calibration = _synthetic([0.05, 0.004, 0.0009, 0.0], [0.05, 0.004, 0.0009, 0.0])
    # k = 1: every one of 3 looks is a chance: 1 in 1,000 per passer-by needs about 1 in 3,000 per look, below what
    # 5 million comparisons can show for 1,000 entries; the proposal is where the bound is smallest, flagged.
    single = thresholds.propose(calibration, condition="greyscale", watchlist_size=1000, target=0.001,
                                confirmation_frames=1, looks=3)
    assert single.threshold == 0.6 and not single.is_bound and not single.measurable and not single.meets_target
    assert single.per_passer_by_upper_95 == pytest.approx(1 - (1 - single.per_look_upper_95) ** 3)
    small = thresholds.propose(calibration, condition="greyscale", watchlist_size=10, target=0.001)
    assert small.threshold == 0.4  # a watchlist of 10 is compared 100 times less
    assert small.per_look == pytest.approx(4e-5, rel=1e-6)  # log-log between the stored sizes 1 and 1,000
    estimate = thresholds.estimate(calibration, condition="greyscale", threshold=0.45, watchlist_size=1000,
                                   confirmation_frames=1, looks=3)
    assert estimate.threshold == 0.4 and estimate.per_passer_by == pytest.approx(1 - (1 - 0.004) ** 3)
    assert estimate.over_footfall(10_000)[0] == pytest.approx(10_000 * estimate.per_passer_by)
    # Two images per entry were not measured here: the one-image figures are used and the source says so.
    assert "1 image per entry" in thresholds.propose(calibration, condition="greyscale", watchlist_size=10,
                                                     target=0.001, images_per_entry=2).source


def test_a_target_below_what_the_comparisons_can_show_is_flagged() -> None:
    calibration = _synthetic([0.05, 0.004, 0.0009, 0.0], [0.05, 0.004, 0.0009, 0.0])
    deep = thresholds.propose(calibration, condition="greyscale", watchlist_size=1000, target=1e-5)
    assert deep.threshold == 0.6 and not deep.measurable  # no false match in 5M comparisons bounds 1,000 at 6e-4


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, float("nan"), float("inf")])
def test_a_nonsense_target_is_refused(target: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        thresholds.propose(_synthetic([0.1] * 4, [0.1] * 4), condition="greyscale", watchlist_size=10, target=target)


def test_old_or_missing_calibrations_are_refused_clearly() -> None:
    with pytest.raises(thresholds.CalibrationMissing, match="old format"):
        thresholds.propose({"pack": "x", "conditions": {}}, condition="colour", watchlist_size=10, target=0.001)
    with pytest.raises(thresholds.CalibrationMissing, match="no colour calibration"):
        thresholds.propose(_synthetic([0.1] * 4, [0.1] * 4), condition="colour", watchlist_size=10, target=0.001)
    with pytest.raises(thresholds.CalibrationMissing, match="Unknown imaging condition"):
        thresholds.estimate(_synthetic([0.1] * 4, [0.1] * 4), condition="infrared", threshold=0.5, watchlist_size=1)


def test_equitability_rows_give_each_group_its_ratio_to_the_overall_rate() -> None:
    rows = thresholds.equitability(_synthetic([0.1] * 4, [0.1] * 4), 0.45)
    overall, black = rows
    assert overall["fmr"] == pytest.approx(0.01) and black["fmr"] == pytest.approx(0.02)
    assert black["ratio"] == pytest.approx(2.0) and black["threshold"] == 0.4
    assert thresholds.equitability(_synthetic([0.1] * 4, [0.1] * 4), 0.6)[1]["ratio"] is None  # 0 overall


def test_per_comparison_figure_reads_the_choose_part() -> None:
    estimate = expected_false_alerts(_synthetic([0.1] * 4, [0.1] * 4), 0.45, 100, 1000, condition="greyscale")
    assert estimate.fmr == pytest.approx(50 / 5_000_000) and estimate.impostor_comparisons == 5_000_000
    assert estimate.expected == pytest.approx(100 * 1000 * 50 / 5_000_000)


def test_a_quick_calibration_run_saves_figures_and_a_plot_but_no_template(
    faces_dir: Path, engine_config: EngineConfig, tmp_path: Path
) -> None:
    lines: list[str] = []
    results = main(pack_ids=["yunet-sface"], out_dir=tmp_path, faces_dir=faces_dir, config=engine_config,
                   limit=120, write=lines.append)
    saved = json.loads((tmp_path / "yunet-sface.json").read_text())
    assert saved == json.loads(json.dumps(results["yunet-sface"])) and load_calibration(tmp_path, "yunet-sface") == saved
    assert (tmp_path / "yunet-sface.png").stat().st_size > 10_000
    assert saved["format"] == 2 and saved["grid"] == GRID and saved["gallery_sizes"] == GALLERY_SIZES
    grey = saved["conditions"]["greyscale"]
    assert grey["images"] == 120 and set(grey["enrolment"]) == {"1", "2"}
    assert set(saved["conditions"]["colour"]["enrolment"]) == {"1"}
    assert sum(grey["quality_gate"].values()) == 120
    report = grey["enrolment"]["1"]["report"]
    assert report["mated_probes"] > 0 and 0 < max(report["tpir"]["1"]) <= 1
    assert len(grey["operating_points"]) == 8 and saved["equitability"]["overall"]["images"] > 100
    assert any("held-out FPIR" in line for line in lines) and any("equitability" in line for line in lines)
    assert not _float_vectors(saved), "calibration output must hold no embeddings"


def test_the_command_refuses_a_faces_folder_without_the_data_sets(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="lfw-dev/identities.csv is missing"):
        call_command("calibrate_packs", "--faces", str(tmp_path), "--out", str(tmp_path))
    with pytest.raises(CommandError, match="at least 50"):
        call_command("calibrate_packs", "--limit", "3", "--out", str(tmp_path))


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


def test_a_proposal_between_hundredths_is_rounded_up() -> None:
    calibration = _synthetic([0.05, 0.004, 0.0009, 0.0], [0.05, 0.004, 0.0009, 0.0])
    calibration["grid"] = [0.3, 0.305, 0.31, 0.315]
    calibration["conditions"]["greyscale"]["enrolment"]["1"]["choose"]["fmr_upper_95"] = [1e-3, 6e-7, 5e-7, 4e-7]
    proposal = thresholds.propose(calibration, condition="greyscale", watchlist_size=10, target=0.001)
    assert proposal.threshold == 0.31  # 0.305 meets it, but thresholds are set in hundredths: the cautious side
