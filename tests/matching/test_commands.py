"""The management commands: the edge simulator against a running server, its retries, and the proof of
deletion finding what was planted."""

import re
import tempfile
import uuid
from pathlib import Path

import pytest
import urllib3
from django.conf import settings
from django.core.management import CommandError, call_command

from deployments.models import Deployment
from matching import frames
from matching.models import Alert
from tools.edge_client import EdgeClient
from watchlists.models import ReferenceImage

from .conftest import counters_of, jpeg_of, wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_simulate_edge_posts_a_folder_of_images_in_real_time(celery_worker_process, live, node, live_server,
                                                             face_bytes, tmp_path, capsys):
    folder = tmp_path / "camera"
    folder.mkdir()
    for name in ("img2.jpg", "img22.jpg", "img29.jpg"):
        (folder / name).write_bytes(face_bytes(name))
    call_command("simulate_edge", url=live_server.url, token=node.token, images=folder, fps=10, frames=5,
                 canvas="640x360", camera="sim camera", frame_prefix="sim")
    out = capsys.readouterr().out
    assert f"Node {node.name}: live" in out
    for number in range(1, 6):
        assert re.search(rf"^sim-{number:06d}  202 queued", out, re.M), out
    assert "Sent 5 frame(s)" in out and "5 accepted" in out and "queued: 5" in out
    wait_for(lambda: counters_of(live).frames_deleted == 5, 60, message="the worker to process the simulated frames")
    # img2 twice on the one camera, other people between: one alert for that person (the second appearance joins it,
    # inside the merge window), with both frames as its sightings; none for the two strangers.
    alert = Alert.objects.get()
    assert alert.frame_id == "sim-000001" and alert.sighting_count == 2
    assert sorted(alert.sightings.values_list("frame_id", flat=True)) == ["sim-000001", "sim-000004"]
    assert counters_of(live).frames_received == 5
    call_command("verify_no_residue", deployment=live.pk, frame_ids=[f"sim-{n:06d}" for n in range(1, 6)])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_benchmark_pipeline_sets_up_loads_and_reports(celery_worker_process, live_server, faces_dir, capsys):
    """A short run end to end (its figures are not asserted: the command is for measuring, not a timed test)."""
    call_command("benchmark_pipeline", url=live_server.url, setup=True, nodes=1, fps=4, duration=2, warmup=1,
                 engine_frames=3, engine_rounds=2, engine_processes=2, faces_dir=faces_dir, drain_timeout=60)
    out = capsys.readouterr().out
    assert "Pipeline benchmark: 1 node(s) x 4 frames/s for 2 s, 640x360 frames" in out, out
    assert re.search(r"frames sent\s+8 \(queued: 8; 0 needed a retry\)", out), out
    assert re.search(r"processed\s+[\d.]+ frames/s end to end \(8 frames", out), out
    assert "NOT drained" not in out
    seen = re.search(r"POST to alert visible .* \((\d+) of (\d+) expected alerts seen", out)
    assert seen and seen.group(1) == seen.group(2) != "0", out
    assert re.search(r"deletion latency\s+p50 \d+ ms, p99 \d+ ms, max \d+ ms \(8 frames", out), out
    assert re.search(r"engine alone\s+[\d.]+ frames/s .*best of 2", out), out
    assert re.search(r"[\d.]+ frames/s in 2 processes x 1 ONNX thread, best of 2 at once", out), out
    assert re.search(r"end to end / engine\s+\d+% of the engine in one process", out), out
    deployment = Deployment.objects.get(title__startswith="Benchmark ")
    assert deployment.counters.frames_deleted == 8 + 1  # and the warm-up frame
    call_command("verify_no_residue", deployment=deployment.pk)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_benchmark_pipeline_crowd_scene_reports_passers_by_and_track_reuse(celery_worker_process, live_server,
                                                                           faces_dir, capsys):
    call_command("benchmark_pipeline", url=live_server.url, setup=True, nodes=1, fps=5, duration=6, warmup=1,
                 engine_frames=3, engine_rounds=1, engine_processes=1, faces_dir=faces_dir, drain_timeout=60,
                 scene="crowd")
    out = capsys.readouterr().out
    assert "the crowd scene (five people walking across the view) on one camera per node" in out, out
    figures = re.search(r"passers-by\s+(\d+) tracks, (\d+) faces \(([\d.]+) per frame\), (\d+) embeddings "
                        r"\(([\d.]+) per frame\), (\d+) tracks confirmed, (\d+) alerts made", out)
    assert figures, out
    tracks, faces, _, embeddings, _, confirmed, alerts = (float(g) for g in figures.groups())
    # 30 frames of the crowd: the people who walked in were tracked, identified, and not embedded on every frame.
    assert 1 <= alerts <= tracks and confirmed >= alerts and embeddings < faces, out
    assert re.search(r"POST to alert visible .* \((\d+) alerts, timed from the POST of the frame that confirmed", out)
    assert re.search(r"non-match deletion\s+", out), out
    call_command("verify_no_residue", deployment=Deployment.objects.get(title__startswith="Benchmark ").pk)


@pytest.mark.parametrize("share, watchlisted", [(0.02, 2), (0.25, 25), (0.5, 50)])
def test_benchmark_frames_hold_the_asked_share_of_watchlisted_faces(faces_dir, share, watchlisted):
    from tools.benchmarks.frames import benchmark_frames

    frames = benchmark_frames(faces_dir, (320, 180), share)
    assert len(frames) == 100 and sum(f.watchlisted for f in frames) == watchlisted
    # Every stretch holds the share, not only the whole: the first fifth as much as the rest.
    assert abs(sum(f.watchlisted for f in frames[:20]) - 20 * share) <= 1
    assert all(f.watchlisted for f in benchmark_frames(faces_dir, (320, 180), 1.0))
    assert not any(f.watchlisted for f in benchmark_frames(faces_dir, (320, 180), 0.0))


@pytest.mark.parametrize("done_when_sending_stopped, state", [
    (300, "offered load below capacity"),  # all done
    (299, "offered load below capacity"),  # one frame still in flight at the end: keeping up
    (290, "offered load below capacity"),  # about a second of offered load (2 nodes x 5 frames/s) waiting
    (280, "at saturation"),  # a backlog beyond that
    (150, "at saturation"),
])
def test_the_benchmark_calls_saturation_only_when_a_backlog_was_left(done_when_sending_stopped, state):
    from tools.benchmarks.engine_alone import EngineRun
    from tools.benchmarks.pipeline import RunResult, Sent, report
    from tools.edge_client import EdgeAnswer

    result = RunResult(load_started=1000.0, load_ended=1030.0, drained_at=1031.0,
                       processed_at_load_end=done_when_sending_stopped, processed=300, deleted=300)
    result.sent = [Sent(f"f{k}", k % 2 == 0, EdgeAnswer(f"f{k}", 202, "queued", "", 1, 0.01, 1000.0 + k / 10))
                   for k in range(300)]
    lines = []
    report(result, fps=5, nodes=2, duration=30, engine=EngineRun(40.0, 40.0, "one process"), engine_parallel=None,
           size=(640, 360), write=lines.append)
    ratio = next(line for line in lines if "end to end / engine" in line)
    assert f"({state}" in ratio, lines
    assert "24% of the engine in one process" in ratio  # 300 frames in 31 s against 40 frames/s

    # Frames refused because the workers were behind mean saturation, whatever was left queued.
    result.sent[-1] = Sent("f299", False, EdgeAnswer("f299", 503, "busy", "behind", 1, 0.01, 1029.9))
    lines = []
    report(result, fps=5, nodes=2, duration=30, engine=EngineRun(40.0, 40.0, "one process"), engine_parallel=None,
           size=(640, 360), write=lines.append)
    assert "(at saturation" in next(line for line in lines if "end to end / engine" in line), lines
    assert any("1 refused as busy" in line for line in lines), lines


def test_the_edge_client_retries_with_backoff_and_honours_retry_after(monkeypatch):
    answers = iter([urllib3.exceptions.ProtocolError("connection lost"), (503, {}, {}),
                    (429, {"Retry-After": "1"}, {"code": "rate_limited"}),
                    (409, {}, {"code": "duplicate_frame", "detail": "already received"})])
    pauses, sent = [], []

    def request(method, endpoint, fields=None):
        sent.append((method, endpoint, dict(fields)))
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = EdgeClient("http://edge.invalid", "token", retries=4, backoff=0.1)
    monkeypatch.setattr(client, "_request", request)
    monkeypatch.setattr("tools.edge_client.time.sleep", pauses.append)
    answer = client.post_frame(b"jpeg", frame_id="f-1", camera="c")
    assert answer.attempts == 4 and answer.code == "duplicate_frame" and answer.accepted
    assert 0.1 <= pauses[0] < 0.2 and 0.2 <= pauses[1] < 0.3 and pauses[2] >= 1  # doubling; Retry-After wins
    method, endpoint, fields = sent[0]
    assert (method, endpoint, fields["frame_id"], fields["image"][1]) == ("POST", "frames", "f-1", b"jpeg")
    refused = iter([(422, {}, {"code": "clock_skew", "detail": "set the clock"})])
    monkeypatch.setattr(client, "_request", lambda *a, **k: next(refused))
    answer = client.post_frame(b"jpeg", frame_id="f-2", camera="c")
    assert (answer.attempts, answer.code, answer.accepted) == (1, "clock_skew", False)


def test_a_busy_answer_is_not_retried_and_holds_the_client_back(monkeypatch):
    answers = iter([(503, {"Retry-After": "2"}, {"code": "busy", "detail": "the workers are behind"})])
    sent = []
    client = EdgeClient("http://edge.invalid", "token", retries=4, backoff=0.1)
    monkeypatch.setattr(client, "_request", lambda method, endpoint, fields=None: sent.append(1) or next(answers))
    answer = client.post_frame(b"jpeg", frame_id="f-1", camera="c")
    assert (answer.attempts, answer.code, answer.accepted, len(sent)) == (1, "busy", False, 1)
    assert 1.5 < client.backoff_remaining() <= 2.0


def test_the_simulated_node_drops_its_oldest_frames_while_held_back_and_sends_the_newest(monkeypatch):
    import numpy as np

    from tools.edge_simulator import DROPPED_AT_NODE, frames_post

    client = EdgeClient("http://edge.invalid", "token", retries=0)
    posted = []

    def request(method, endpoint, fields=None):
        frame_id = dict(fields)["frame_id"]
        posted.append(frame_id)
        if frame_id.endswith("000001"):  # the first frame: the server is behind, come back in 1 s
            return 503, {"Retry-After": "1"}, {"code": "busy", "detail": "behind"}
        return 202, {}, {}

    monkeypatch.setattr(client, "_request", request)
    image = np.full((36, 64, 3), 128, dtype=np.uint8)
    answers, _ = frames_post(client, lambda limit: iter([image] * limit), limit=20, fps=20.0, camera="c",
                             prefix="sim", canvas=None, quality=80, in_flight=1, on_answer=lambda *_: None,
                             buffer_seconds=0.25)  # 5 frames of buffer
    codes = {a.frame_id: a.code for a in answers}
    assert codes["sim-000001"] == "busy" and len(codes) == 20
    dropped = sorted(f for f, code in codes.items() if code == DROPPED_AT_NODE)
    # Held back for 1 s at 20 frames/s: the buffer of 5 kept the newest, so the oldest of those waiting went.
    assert len(dropped) >= 5 and "sim-000020" not in dropped
    sent_after = posted[1:]
    assert sent_after == sorted(sent_after) and not set(sent_after) & set(dropped)  # in capture order, none twice
    assert max(dropped) < min(sent_after)  # the oldest went; what went out after the pause is newer than all of them


@pytest.mark.django_db
def test_verify_no_residue_reports_each_planted_trace_and_fails(live, node, face_bytes, capsys):
    jpeg = jpeg_of(face_bytes("img22.jpg"))
    stray = Path(settings.MEDIA_ROOT) / "stray" / "frame.jpg"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(jpeg)
    frames.client().set(frames.payload_key(live.pk, node.pk, "leak-1"), b"F" + jpeg, ex=60)
    Deployment.objects.filter(pk=live.pk).update(engagement_notes="copied frame leak-2 here by mistake")
    image = ReferenceImage.objects.filter(entry__version=live.watchlist_version).first()
    ReferenceImage.objects.filter(pk=image.pk).update(state="refused")
    temp_file = Path(tempfile.gettempdir()) / f"lfr-leak-{uuid.uuid4().hex}.jpg"
    temp_file.write_bytes(jpeg)
    try:
        with pytest.raises(CommandError, match=r"Found 5 trace\(s\)"):
            call_command("verify_no_residue", deployment=live.pk, frame_ids=["leak-1", "leak-2"])
    finally:
        temp_file.unlink()
    out = capsys.readouterr().out
    assert "FOUND media: stray/frame.jpg" in out
    assert f"FOUND redis: frame payload {frames.payload_key(live.pk, node.pk, 'leak-1')}" in out
    assert "FOUND database: deployments_deployment.engagement_notes holds 'leak-2'" in out
    assert "template(s) of images refused at enrolment" in out
    assert f"FOUND temp: {temp_file}" in out
    assert "Nothing found." not in out


@pytest.mark.django_db
def test_verify_no_residue_finds_nothing_on_a_clean_system(live, capsys):
    call_command("verify_no_residue")
    out = capsys.readouterr().out
    assert out.strip().endswith("Nothing found.")
    assert "checked database:" in out and "checked media:" in out and "checked temp:" in out and "redis" in out
