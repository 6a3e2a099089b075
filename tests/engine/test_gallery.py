"""Exact 1:N search."""

from __future__ import annotations

import numpy as np
import pytest

from matching.engine import Gallery


def _unit_rows(count: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dim), dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_top_k_matches_brute_force_with_labels_and_scores() -> None:
    entries = _unit_rows(2_000, 128)
    labels = [f"entry-{i}" for i in range(len(entries))]
    gallery = Gallery(entries, labels)
    probes = _unit_rows(3, 128, seed=1)

    results = gallery.search(probes, k=5)

    for probe, matches in zip(probes, results, strict=True):
        expected = np.argsort(-(entries @ probe))[:5]
        assert [m.index for m in matches] == expected.tolist()
        assert [m.label for m in matches] == [labels[i] for i in expected]
        assert np.allclose([m.score for m in matches], (entries @ probe)[expected], atol=1e-5)


def test_single_probe_and_threshold() -> None:
    entries = _unit_rows(100, 512)
    gallery = Gallery(entries * 3.0)  # rows are normalised on the way in
    [matches] = gallery.search(entries[42], k=3, threshold=0.99)
    assert [(m.index, m.label) for m in matches] == [(42, 42)]
    assert matches[0].score == pytest.approx(1.0, abs=1e-5)
    assert gallery.search(-entries[42], k=1, threshold=0.5) == [[]]


def test_add_and_empty_gallery() -> None:
    gallery = Gallery.empty(128)
    assert gallery.search(_unit_rows(1, 128)[0]) == [[]]
    gallery.add(_unit_rows(2, 128), ["a", "b"])
    assert len(gallery) == 2 and gallery.labels == ["a", "b"]
    with pytest.raises(ValueError):
        gallery.add(_unit_rows(1, 64), ["c"])


def test_hundred_thousand_entries_are_searched_exactly() -> None:
    entries = _unit_rows(100_000, 128)
    gallery = Gallery(entries)
    [matches] = gallery.search(entries[99_999], k=1)
    assert matches[0].index == 99_999
