"""manage.py rehearse: the live tracker and decision (frame_track) on a video file, with no database, web server
or worker, writing nothing. The footage is tools/scenes.py's: a watchlisted person (deepface person01, img6.jpg)
and a stranger (person08) crossing, then the watchlisted person again 3 s later; references: another photo of
person01 (img2.jpg), a photo of someone not in the video (person12, img34.jpg), and two that the quality gate
refuses. No `db` fixture: pytest-django would refuse any query."""

from __future__ import annotations

import builtins
import io
import os
import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path

import cv2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from matching.engine import load_manifest
from tools import scenes

from .support import REPO

PINNED = """\
REFUSED notes.txt: unreadable: The file is not a readable image: upload a JPEG or PNG file.
REFUSED tiny.jpg: face_too_small: The face is too small (48 px across, 24 px between the eyes; at least 80 and 30 \
needed): upload a larger or closer photo.
References: 2 accepted (img2.jpg, img34.jpg), 2 refused
Rehearsing scene.avi with yunet-sface: threshold {threshold:.2f}, k 2, 5 frames/s, track gap 1.5 s
ALERT img2.jpg: 18 sightings, best score 0.880, first seen 00:00.0, last seen 00:03.4
ALERT img2.jpg: 15 sightings, best score 0.870, first seen 00:06.4, last seen 00:09.2
Frames: 47. Tracks: 3. Faces: 57 (15 embedded). Alerts: 2. Tracks ended without an alert: 1 (0 candidates not confirmed).
""".format(threshold=load_manifest("yunet-sface").threshold)  # the pack's default (1,000 entries, 1 in 1,000)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rehearsal")
    scene = scenes.watchlist_scene(faces_dir, gap_seconds=3.0)
    video = scenes.write_video(scene.frames, root / "scene.avi", scene.fps)
    references = root / "references"
    references.mkdir()
    deepface = faces_dir / "deepface"
    for name in (scenes.REFERENCE_IMAGE, scenes.ABSENT_REFERENCE_IMAGE):
        (references / name).write_bytes((deepface / name).read_bytes())
    photo = cv2.imread(str(deepface / scenes.REFERENCE_IMAGE))
    small = cv2.resize(photo, (photo.shape[1] // 8, photo.shape[0] // 8), interpolation=cv2.INTER_AREA)
    (references / "tiny.jpg").write_bytes(cv2.imencode(".jpg", small)[1].tobytes())  # person01, face ~48 px wide
    (references / "notes.txt").write_text("not an image")
    return {"root": root, "video": video, "references": references}


def rehearse(*args: str, **options) -> str:
    out = StringIO()
    call_command("rehearse", *args, stdout=out, **options)
    return out.getvalue()


def test_the_scene_is_what_the_rehearsal_assumes(faces_dir: Path) -> None:
    scene = scenes.watchlist_scene(faces_dir, gap_seconds=3.0)
    assert len(scene) == 47 and scene.times[1] == pytest.approx(0.2)
    assert scene.appearances(scenes.WATCHLISTED) == [(0, 17), (32, 46)]
    assert scene.appearances(scenes.STRANGER) == [(6, 29)]
    assert scenes.watchlist_scene(faces_dir, gap_seconds=1.0).appearances(scenes.WATCHLISTED) == [(0, 17), (22, 36)]


def test_one_alert_per_appearance_and_none_for_the_stranger(footage: dict[str, Path]) -> None:
    output = rehearse("--references", str(footage["references"]), "--video", str(footage["video"]))
    assert output == PINNED


def test_it_writes_nothing(footage: dict[str, Path], tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(footage["root"].rglob("*")) + sorted(tmp_path.rglob("*"))
    real_open, real_os_open = builtins.open, os.open
    attempts: list[str] = []

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            attempts.append(f"open({file!r}, {mode!r})")
            raise PermissionError(f"rehearse opened {file} for writing")
        return real_open(file, mode, *args, **kwargs)

    def read_only_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC):
            attempts.append(f"os.open({path!r})")
            raise PermissionError(f"rehearse opened {path} for writing")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only_open)
    monkeypatch.setattr(io, "open", read_only_open)
    monkeypatch.setattr(os, "open", read_only_os_open)
    output = rehearse("--references", str(footage["references"]), "--video", str(footage["video"]))
    monkeypatch.undo()
    assert attempts == []
    assert output == PINNED
    assert sorted(footage["root"].rglob("*")) + sorted(tmp_path.rglob("*")) == before


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the socket is


def test_it_needs_no_database_or_redis(footage: dict[str, Path]) -> None:
    port = _closed_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "REDIS_"))}
    env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/nowhere", REDIS_URL=f"redis://127.0.0.1:{port}/0",
               DJANGO_SETTINGS_MODULE="lfr_governance.settings.test")
    done = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "rehearse", "--references", str(footage["references"]),
         "--video", str(footage["video"])],
        cwd=footage["root"], env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == PINNED


def test_a_threshold_above_every_score_alerts_nobody(footage: dict[str, Path]) -> None:
    output = rehearse("--references", str(footage["references"]), "--video", str(footage["video"]),
                      "--threshold", "0.95", "--k", "1")
    assert "ALERT" not in output and "threshold 0.95, k 1" in output
    assert output.endswith("Frames: 47. Tracks: 3. Faces: 57 (16 embedded). Alerts: 0. "
                           "Tracks ended without an alert: 3 (0 candidates not confirmed).\n")


def test_it_samples_the_video_at_fps_by_the_video_s_own_time(footage: dict[str, Path],
                                                             faces_dir: Path, tmp_path: Path) -> None:
    scene = scenes.watchlist_scene(faces_dir, gap_seconds=3.0)
    doubled = scenes.write_video([frame for frame in scene.frames for _ in (0, 1)], tmp_path / "scene.avi", 10.0)
    output = rehearse("--references", str(footage["references"]), "--video", str(doubled), "--fps", "5")
    assert output == PINNED  # every other frame of the 10 frames/s video: the 5 frames/s footage, same times


@pytest.mark.parametrize("option, value, message", [
    ("fps", float("nan"), "--fps must be above 0"),
    ("fps", -5.0, "--fps must be above 0"),
    ("fps", 1e9, "--fps must be above 0 and at most 60"),
    ("k", 0, "--k must be a whole number from 1 to 50"),
    ("k", 10_000, "--k must be a whole number from 1 to 50"),
    ("k", 1.5, "--k must be a whole number"),
    ("threshold", float("nan"), "--threshold must be above 0 and below 1"),
    ("threshold", -0.2, "--threshold must be above 0 and below 1"),
    ("threshold", 43.0, "--threshold must be above 0 and below 1"),
    ("gap_seconds", float("inf"), "--gap-seconds must be above 0"),
])
def test_bad_numbers_are_refused(footage: dict[str, Path], option: str, value, message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("+", r"\+")):
        rehearse(references=footage["references"], video=footage["video"], **{option: value})


def test_bad_numbers_on_the_command_line_are_refused(footage: dict[str, Path]) -> None:
    with pytest.raises(CommandError, match="--fps must be above 0"):
        rehearse("--references", str(footage["references"]), "--video", str(footage["video"]), "--fps", "nan")
    with pytest.raises(CommandError, match="invalid int value"):
        rehearse("--references", str(footage["references"]), "--video", str(footage["video"]), "--k", "two")


def test_a_missing_or_unreadable_video_is_refused(footage: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        rehearse(references=footage["references"], video=tmp_path / "missing.avi")
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"RIFF" + bytes(range(256)) * 40)
    with pytest.raises(CommandError, match="cannot be read"):
        rehearse(references=footage["references"], video=garbage)
    with pytest.raises(CommandError, match="does not exist or is not a file"):
        rehearse(references=footage["references"], video=tmp_path)


def test_an_empty_or_missing_references_folder_is_refused(footage: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="holds no image files"):
        rehearse(references=tmp_path, video=footage["video"])
    with pytest.raises(CommandError, match="does not exist"):
        rehearse(references=tmp_path / "missing", video=footage["video"])
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(CommandError, match="No reference image .* passed the quality gate"):
        rehearse(references=tmp_path, video=footage["video"])


def test_help_says_there_is_no_merge_window() -> None:
    from matching.management.commands.rehearse import Command

    assert "no merge window" in Command.help and "second alert" in Command.help
    assert Command.requires_system_checks == []



def test_an_unknown_pack_is_refused(footage: dict[str, Path]) -> None:
    with pytest.raises(CommandError, match="no-such-pack"):
        rehearse(references=footage["references"], video=footage["video"], pack="no-such-pack")
