"""manage.py recommend_threshold: the proposal from the target on the command line, and its refusals."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from .calibration_fixture import expected_proposal


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("recommend_threshold", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("size, k, condition", [(1000, 2, "colour"), (1000, 1, "colour"), (100, 2, "greyscale"),
                                                (2000, 2, "colour")])
def test_it_prints_the_proposal_and_its_figures(calibrations, size, k, condition):
    out = run("--pack", "yunet-sface", "--condition", condition, "--watchlist-size", str(size), "--target-fpir",
              "0.001", "--k", str(k))
    threshold = expected_proposal(size, condition=condition, k=k)
    assert f"Threshold: {threshold:.2f}\n" in out
    assert f"a watchlist of {size:,} entries, 1 image(s) per entry, {k} frame(s) to confirm a match" in out
    assert ("Expected false alerts per passer-by: " + ("at most " if k >= 2 else "about ")) in out
    assert "95% upper bound: " in out and "Expected share of listed people found (TPIR): " in out
    assert "Meets the target (95% upper bound within it): yes" in out and "Measurable: yes" in out
    assert f"Calibration: pack yunet-sface, calibrated 2026-12-01 on synthetic test faces ({condition})" in out


def test_the_proposal_changes_with_size_k_and_images(calibrations):
    def threshold(*extra: str) -> str:
        out = run("--pack", "yunet-sface", "--condition", "colour", "--target-fpir", "0.001", *extra)
        return next(line for line in out.splitlines() if line.startswith("Threshold: "))

    assert threshold("--watchlist-size", "100") == f"Threshold: {expected_proposal(100):.2f}"
    assert threshold("--watchlist-size", "5000") == f"Threshold: {expected_proposal(5000):.2f}"
    assert threshold("--watchlist-size", "5000", "--k", "1") == f"Threshold: {expected_proposal(5000, k=1):.2f}"
    assert threshold("--watchlist-size", "5000", "--images-per-entry", "2") == (  # colour measures one image only
        f"Threshold: {expected_proposal(5000):.2f}")
    out = run("--pack", "yunet-sface", "--condition", "greyscale", "--target-fpir", "0.001", "--watchlist-size",
              "100", "--images-per-entry", "2")
    assert f"Threshold: {expected_proposal(100, condition='greyscale', images=2):.2f}\n" in out
    assert "2 images per entry" in out
    assert expected_proposal(100) < expected_proposal(5000) < expected_proposal(5000, k=1)


def test_it_says_when_the_calibration_cannot_measure_the_target(calibrations):
    out = run("--pack", "yunet-sface", "--condition", "greyscale", "--watchlist-size", "2000", "--target-fpir",
              "0.001")
    assert "Measurable: no (500,000 impostor comparisons; too few to show a rate as low as the target" in out
    out = run("--pack", "yunet-sface", "--condition", "greyscale", "--watchlist-size", "10000", "--target-fpir",
              "0.001", "--k", "1")
    assert "Meets the target (95% upper bound within it): no: no calibrated threshold is shown to meet it" in out


def test_the_target_defaults_to_policy(calibrations, settings):
    settings.LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY = 0.01
    out = run("--pack", "yunet-sface", "--condition", "colour", "--watchlist-size", "1000")
    assert f"Threshold: {expected_proposal(1000, target=0.01):.2f}" in out and "Target: at most 0.01 " in out


@pytest.mark.parametrize("args, says", [
    (["--target-fpir", "nan"], "--target-fpir must be between 0 and 1"),
    (["--target-fpir", "inf"], "--target-fpir must be between 0 and 1"),
    (["--target-fpir", "0"], "--target-fpir must be between 0 and 1"),
    (["--target-fpir", "1"], "--target-fpir must be between 0 and 1"),
    (["--target-fpir", "1.5"], "--target-fpir must be between 0 and 1"),
    (["--target-fpir", "-0.001"], "--target-fpir must be between 0 and 1"),
    (["--target-fpir", "one in a thousand"], "--target-fpir must be a number between 0 and 1"),
    (["--watchlist-size", "-5"], "--watchlist-size must be at least 1"),
    (["--watchlist-size", "0"], "--watchlist-size must be at least 1"),
    (["--watchlist-size", "12.5"], "--watchlist-size must be a whole number"),
    (["--k", "0"], "--k must be from 1 to 10"),
    (["--k", "11"], "--k must be from 1 to 10"),
    (["--pack", "no-such-pack"], "Unknown model pack 'no-such-pack': known packs are"),
    (["--pack", "../../etc/passwd"], "Unknown model pack"),
])
def test_bad_input_is_a_clear_command_error(calibrations, args, says):
    base = {"--pack": "yunet-sface", "--condition": "colour", "--watchlist-size": "1000", "--target-fpir": "0.001"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    with pytest.raises(CommandError) as exc:
        run(*[part for pair in base.items() for part in pair])
    assert says in str(exc.value)


def test_a_bad_condition_is_refused_by_its_choices(calibrations):
    with pytest.raises(CommandError) as exc:
        run("--pack", "yunet-sface", "--condition", "infrared", "--watchlist-size", "10")
    assert "invalid choice: 'infrared'" in str(exc.value)


def test_an_old_calibration_is_a_clear_command_error(settings, tmp_path):
    (tmp_path / "yunet-sface.json").write_text(json.dumps({"pack": "yunet-sface", "conditions": {}}),
                                               encoding="utf-8")
    settings.LFR_CALIBRATION_DIR = str(Path(tmp_path))
    with pytest.raises(CommandError) as exc:
        run("--pack", "yunet-sface", "--condition", "colour", "--watchlist-size", "10", "--target-fpir", "0.001")
    assert "in an old format" in str(exc.value) and "calibrate_packs --pack yunet-sface" in str(exc.value)
