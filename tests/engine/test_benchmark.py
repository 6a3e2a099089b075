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
    crowd = benchmark.crowd_frames
    monkeypatch.setattr(benchmark, "crowd_frames", lambda photos: tuple(part[:2] for part in crowd(photos)))
    lines: list[str] = []
    results = benchmark.main(pack_ids=["yunet-sface"], repeats=1, faces_dir=faces_dir, config=None, write=lines.append)  # type: ignore[arg-type]
    assert [row["faces_found"] for row in results["yunet-sface"]["frames"]] == [1, 5]
    assert any("640x360" in line for line in lines) and any("1000" in line for line in lines)


def test_the_crowd_is_five_people_crossing_and_every_face_is_found(
    engines: dict[str, FaceEngine], faces_dir: Path
) -> None:
    frames, truth = benchmark.crowd_frames(benchmark.load_crowd_photos(faces_dir))
    assert len(frames) == 56 and all(frame.shape == (360, 640, 3) for frame in frames)
    assert {name for shown in truth for name in shown} == set(benchmark.CROWD_PHOTOS)
    assert max(len(shown) for shown in truth) == 5 and sum(len(shown) for shown in truth) == 5 * 32
    again, _ = benchmark.crowd_frames(benchmark.load_crowd_photos(faces_dir))
    assert all((a == b).all() for a, b in zip(frames, again, strict=True))  # deterministic
    for frame, shown in list(zip(frames, truth, strict=True))[::5]:
        assert len(engines["yunet-sface"].detect(frame)) == len(shown)


def test_the_crowd_section_reports_both_modes(
    faces_dir: Path, engines: dict[str, FaceEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchmark, "FRAME_SIZES", ((640, 360),))
    monkeypatch.setattr(benchmark, "FACES_PER_FRAME", (1,))
    monkeypatch.setattr(benchmark, "GALLERY_SIZES", (1_000,))
    monkeypatch.setattr(benchmark, "load_engine", lambda pack_id, config: engines[pack_id])
    crowd = benchmark.crowd_frames
    monkeypatch.setattr(benchmark, "crowd_frames", lambda photos: tuple(part[:14] for part in crowd(photos)))
    lines: list[str] = []
    results = benchmark.main(pack_ids=["yunet-sface"], repeats=1, faces_dir=faces_dir, config=None, write=lines.append)  # type: ignore[arg-type]
    every, reuse = results["yunet-sface"]["crowd"]
    assert (every["mode"], reuse["mode"]) == ("every face", "track reuse")
    assert every["faces"] == reuse["faces"] == every["embedded"] == 14 + 8 + 2  # faces in frames 0-13
    assert reuse["embedded"] < every["embedded"] and every["frames_per_second"] > 0
    assert every["alerts"] == reuse["alerts"] == 1  # person01, on the gallery by another photo
    assert any("crowd, 5 people crossing 14 frames of 640x360" in line for line in lines)
    assert any(line.strip().startswith("track reuse") for line in lines)
