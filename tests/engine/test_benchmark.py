"""The benchmark's frame composition and table (timings themselves are not asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from matching.engine import FaceEngine, benchmark


@pytest.mark.parametrize("size", benchmark.FRAME_SIZES)
def test_composed_frames_hold_the_faces_placed(
    engines: dict[str, FaceEngine], faces_dir: Path, size: tuple[int, int]
) -> None:
    photos = benchmark.load_photos(faces_dir)
    for count in benchmark.FACES_PER_FRAME:
        frame = benchmark.compose_frame(photos, size, count)
        assert frame.shape == (size[1], size[0], 3)
        assert len(engines["yunet-sface"].detect(frame)) == count


def test_benchmark_prints_frame_and_search_tables(
    faces_dir: Path, engines: dict[str, FaceEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchmark, "FRAME_SIZES", ((640, 360),))
    monkeypatch.setattr(benchmark, "GALLERY_SIZES", (1_000,))
    monkeypatch.setattr(benchmark, "load_engine", lambda pack_id, config: engines[pack_id])
    lines: list[str] = []
    results = benchmark.main(pack_ids=["yunet-sface"], repeats=1, faces_dir=faces_dir, config=None, write=lines.append)  # type: ignore[arg-type]
    assert [row["faces_found"] for row in results["yunet-sface"]["frames"]] == [1, 5]
    assert any("640x360" in line for line in lines) and any("1000" in line for line in lines)
