"""Fault injection on a real system of the suite's own (tests/faults/system.py: embedded PostgreSQL and Redis, gunicorn,
Celery workers and beat from launcher.service_commands under the launcher's Supervisor), each fault while one edge
node sends 5 frames a second, every other one showing a watchlisted person (each photograph its own passer-by: its
own camera name, and the deployment alerts on one frame, k = 1):

- a worker's pool process killed (SIGKILL) right behind an accepted watchlisted frame, while it is on the CPU;
- a worker's main process killed (SIGKILL) the same way: the supervisor restarts it;
- Redis stopped and started again (4 s down);
- PostgreSQL stopped and started again (4 s down).

The worker killed is the one that takes the trigger frame (its camera's frames worker, matching/routing.py), else the
worker that used the most CPU. For each fault, precisely:

- every frame accepted (202, or a duplicate answer to a retry: an earlier attempt got through) that shows a
  watchlisted person has exactly one alert, naming that person and its camera, with one alert.create audit row; no
  other frame has one. The one exception is Redis's: the frames whose payload was still in Redis when it stopped (read
  from Redis with no request in flight, just before it stops) are lost with it by design (Redis keeps nothing), so
  those may have at most one;
- frames keep flowing: watchlisted frames captured after the recovery (after the kill, for a worker fault) are
  accepted and alert;
- every answer that is not 202 is the API's JSON refusal; a 503 or 429 carries a Retry-After of at least 1 second;
  the web server always answers; 409 only as a duplicate answer to a retry, or (after the Redis restart)
  `captured_before_restart`; for the two outages, 503 `unavailable` refusals are seen;
- /healthz turns red within 30 s of an outage, naming the server, and green again afterwards; after a worker fault it
  is green again (a killed worker is back within seconds, inside the heartbeat's age limit, so it is not required
  to turn red);
- frame-id keys expire within the replay window, and none is left claimed for a frame never accepted;
- `verify_no_residue` (the real command, on this system's database, media folder, temporary folder and Redis, with
  every frame id sent and the marker inside every frame) finds nothing: no payload or open track left, no orphan
  media file, no trace of a non-alert frame.

The sender retries 503 and 429 with backoff, keeping the frame id and capture time (as tools/edge_client does), until
accepted, refused for good, or 20 s after capture; frames never accepted are counted refused and expect no alert.
Each phase prints one line `FAULT PHASE {json}` with its counts.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

import psutil
import pytest

from .system import FRAME_ID_TTL_SECONDS, MARKER, PAYLOAD_TTL_SECONDS, EdgeSender, FaultSystem, subject_ref, wait_until

pytestmark = pytest.mark.worker

PHASE_SECONDS = 14.0  # of frames at 5 a second, across the fault
FAULT_AFTER_SECONDS = 3.0  # of normal flow first
OUTAGE_SECONDS = 4.0  # how long Redis or PostgreSQL stays down
HEALTH_RED_WITHIN_SECONDS = 30.0
HEALTH_GREEN_WITHIN_SECONDS = 60.0
RECOVERED_WITHIN_SECONDS = 60.0
TRACKS_END_WITHIN_SECONDS = 10.0
FINISHED_GRACE_SECONDS = 3.0  # alerts are committed before the frame's payload goes: a margin all the same
MIN_FRAMES_AFTER_RECOVERY = 3  # watchlisted frames captured after the recovery that must be accepted and alert

SUMMARIES: list[dict] = []


@dataclass
class Fault:
    injected_at: float  # monotonic
    recovered_at: float  # the server back, or the killed process replaced
    evidence: dict = field(default_factory=dict)
    at_risk: set[str] = field(default_factory=set)  # frames lost by design with Redis's contents


# --- The faults --------------------------------------------------------------------------------


def worker_of(system: FaultSystem, sender: EdgeSender, frame, cpu_before: dict) -> str:
    """The worker that takes `frame`: its camera's frames worker where frames are sharded (matching/routing.py),
    else the worker that used the most CPU lately."""
    frames_workers = [n for n in system.worker_names() if n.startswith("frames-")]
    try:
        from matching.routing import camera_shard
    except ImportError:
        camera_shard = None
    if camera_shard and frames_workers:
        name = f"frames-{camera_shard(system.node_id, sender.camera_of(frame), len(frames_workers))}"
        if name in frames_workers:
            return name
    return system.busiest_worker(cpu_before)


def kill_pool_process(system: FaultSystem, sender: EdgeSender, cpu_before: dict, trigger) -> Fault:
    name = worker_of(system, sender, trigger, cpu_before)
    main_pid, restarts = system.process(name).pid, system.restarts(name)
    children = system.pool_children(name)
    assert children, f"worker {name} has no pool process"
    # The pool process matching the frame just accepted: caught while it runs (on the CPU), else the busiest lately.
    victim = _running_child(children)
    running = victim is not None
    victim = victim or system.busiest_child(name, sample=0.02)
    log = system.logs / f"{name}.log"
    lost_before = _count_in(log, "WorkerLostError")
    injected_at = time.monotonic()
    os.kill(victim.pid, signal.SIGKILL)
    old = {c.pid for c in children}

    def replaced():
        now = system.pool_children(name)
        return len(now) >= len(children) and victim.pid not in {c.pid for c in now} and now

    now = wait_until(replaced, RECOVERED_WITHIN_SECONDS, f"worker {name} to replace its killed pool process")
    assert system.process(name).pid == main_pid and system.restarts(name) == restarts, \
        "killing a pool process must not take the worker's main process down"
    time.sleep(0.5)  # the main process's log line for the job it lost
    return Fault(injected_at, time.monotonic(), {"worker": name, "killed_pool_pid": victim.pid,
                                                 "was_running": running,
                                                 "job_lost_mid_frame": _count_in(log, "WorkerLostError") > lost_before,
                                                 "new_pool_pids": sorted({c.pid for c in now} - old)})


def kill_main_process(system: FaultSystem, sender: EdgeSender, cpu_before: dict, trigger) -> Fault:
    name = worker_of(system, sender, trigger, cpu_before)
    process, restarts = system.process(name), system.restarts(name)
    pool = system.pool_children(name)
    running = _running_child(pool) is not None  # its pool process on the CPU: a frame in the middle of matching
    pool = [c.pid for c in pool]
    injected_at = time.monotonic()
    os.kill(process.pid, signal.SIGKILL)  # the main process only; the supervisor clears what it left
    wait_until(lambda: system.restarts(name) > restarts and system.process(name) is not None,
               RECOVERED_WITHIN_SECONDS, f"the supervisor to restart {name}:\n" + "\n".join(system.messages[-5:]))
    wait_until(lambda: system.pool_children(name), RECOVERED_WITHIN_SECONDS, f"the restarted {name} to start its pool")
    orphans = [pid for pid in pool if psutil.pid_exists(pid) and _status(psutil.Process(pid)) != psutil.STATUS_ZOMBIE]
    return Fault(injected_at, time.monotonic(), {"worker": name, "killed_main_pid": process.pid,
                                                 "pool_was_running": running,
                                                 "new_main_pid": system.process(name).pid,
                                                 "old_pool_left_running": orphans})


def stop_and_start_redis(system: FaultSystem, sender: EdgeSender, cpu_before: dict, trigger) -> Fault:
    with sender.gate.hold():  # no request in flight: what Redis holds now is exactly what it loses
        held = {key.split(":", 4)[4] for key in system.payload_keys()}
        injected_at = time.monotonic()
        system.redis.stop()
        stopped_at = time.monotonic()
    time.sleep(OUTAGE_SECONDS)
    system.redis.start()
    return Fault(injected_at, time.monotonic(), {"payloads_held_at_stop": sorted(held),
                                                 "stop_took_s": round(stopped_at - injected_at, 2)}, at_risk=held)


def restart_postgres(system: FaultSystem, sender: EdgeSender, cpu_before: dict, trigger) -> Fault:
    injected_at = time.monotonic()
    pg = system.pg
    stop = subprocess.run([str(pg.bin / "pg_ctl"), "-D", str(pg.pgdata), "-w", "-m", "fast", "stop"], user=pg.run_as,
                          capture_output=True, text=True)
    stopped_at = time.monotonic()
    assert stop.returncode == 0, f"pg_ctl stop failed ({stop.returncode}): {stop.stdout} {stop.stderr}"
    time.sleep(OUTAGE_SECONDS)
    system.pg.start()
    return Fault(injected_at, time.monotonic(), {"stop_took_s": round(stopped_at - injected_at, 2),
                                                 "down_s": round(time.monotonic() - stopped_at, 2)})


def _running_child(children: list[psutil.Process], timeout: float = 0.5) -> psutil.Process | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            if _status(child) == psutil.STATUS_RUNNING:
                return child
        time.sleep(0.002)
    return None


def _count_in(path, text: str) -> int:
    try:
        return path.read_text(errors="replace").count(text)
    except OSError:
        return 0


def _status(process: psutil.Process) -> str:
    try:
        return process.status()
    except psutil.Error:
        return "gone"


# --- One phase: frames flowing across one fault ------------------------------------------------


def run_phase(system: FaultSystem, frames, phase: str, inject, *, outage: str | None) -> None:
    """`outage`: the /healthz check that must turn red ("redis", "database"), or None for a worker fault."""
    system.health.wait_green(HEALTH_GREEN_WITHIN_SECONDS, f"/healthz to be green before the {phase} fault")
    counters_before = system.counters()
    cpu_before = system.worker_cpu()
    sender = EdgeSender(system.base_url, system.token, frames, phase)
    sender.start(PHASE_SECONDS)
    fault = None
    try:
        time.sleep(FAULT_AFTER_SECONDS)
        trigger = sender.wait_for_accepted_watchlisted(after=time.monotonic())
        fault = inject(system, sender, cpu_before, trigger)  # right behind an accepted watchlisted frame: mid-frame
    finally:
        sender.finish()
    problems: list[str] = []
    sent = sender.sent

    # Answers: JSON refusals with Retry-After, the web server always answering.
    allowed_final = {"captured_before_restart"} if outage == "redis" else set()
    refusals = [(s.frame_id, a) for s in sent for a in s.attempts if a.status != 202]
    for frame_id, a in refusals:
        if a.status is None:
            problems.append(f"{frame_id}: no answer from the web server ({a.detail})")
            continue
        if not a.is_json or not a.code or a.code.startswith("http_"):
            problems.append(f"{frame_id}: {a.status} refusal is not the API's JSON ({a.content_type!r}, {a.detail!r})")
        if a.status in (429, 503):
            try:
                ok = int(a.retry_after) >= 1
            except (TypeError, ValueError):
                ok = False
            if not ok:
                problems.append(f"{frame_id}: {a.status} {a.code} without a usable Retry-After ({a.retry_after!r})")
        elif a.status == 409 and a.code == "duplicate_frame":
            pass  # judged with the frame's outcome below
        elif not (a.status == 409 and a.code in allowed_final):
            problems.append(f"{frame_id}: unexpected answer {a.status} {a.code}: {a.detail}")
    for s in sent:
        if s.outcome.startswith("unexpected"):
            problems.append(f"{s.frame_id}: {s.outcome} (answers {[(a.status, a.code) for a in s.attempts]})")
    unavailable = [a for _, a in refusals if a.status == 503 and a.code == "unavailable"]
    if outage and not unavailable:
        problems.append(f"no 503 `unavailable` refusal was seen while {outage} was down: the fault did not bite")

    # /healthz: red within 30 s of an outage, naming the server; green again afterwards.
    red = None
    if outage:
        def first_red():
            return next((h for h in system.health.between(fault.injected_at, fault.injected_at
                                                           + HEALTH_RED_WITHIN_SECONDS) if h.status != 200), None)
        try:
            red = wait_until(first_red, max(0.0, fault.injected_at + HEALTH_RED_WITHIN_SECONDS - time.monotonic()),
                             "red", interval=0.5)
        except AssertionError:
            problems.append(f"/healthz did not turn red within {HEALTH_RED_WITHIN_SECONDS:.0f}s of the {outage} "
                            "outage")
        if red and outage not in red.failing:
            problems.append(f"/healthz turned red without naming {outage}: failing {list(red.failing)}")
    try:
        green = system.health.wait_green(HEALTH_GREEN_WITHIN_SECONDS, f"/healthz to be green after the {phase} fault")
    except AssertionError as exc:
        green = None
        problems.append(str(exc))

    # Alerts: every accepted watchlisted frame (not lost with Redis by design) has exactly one, naming its person.
    accepted = [s for s in sent if s.outcome == "accepted"]
    expected = {s.frame_id: s for s in accepted if s.watchlisted and s.frame_id not in fault.at_risk}
    deadline = max([s.accepted_at for s in accepted], default=time.monotonic()) + PAYLOAD_TTL_SECONDS + 5
    phase_payloads = lambda: [k for k in system.payload_keys() if k.split(":", 4)[4].startswith(f"{phase}-")]
    alerts = _alerts_when(system, phase, lambda found: set(expected) <= {row[0] for row in found}, deadline,
                          finished=lambda: not phase_payloads())
    by_frame: dict[str, list[tuple]] = {}
    for row in alerts:
        by_frame.setdefault(row[0], []).append(row)
    missing = sorted(set(expected) - set(by_frame))
    if missing:
        problems.append(f"{len(missing)} accepted watchlisted frame(s) have no alert: "
                        f"{[_frame_story(expected[f], fault) for f in missing]}")
    sent_by_id = {s.frame_id: s for s in sent}
    for frame_id, rows in sorted(by_frame.items()):
        s = sent_by_id.get(frame_id)
        if len(rows) != 1 or rows[0][1] != 0:
            problems.append(f"{frame_id}: {len(rows)} alerts (faces {[r[1] for r in rows]}): duplicates")
        if s is None or not s.watchlisted:
            problems.append(f"{frame_id}: an alert for a frame showing nobody watchlisted ({rows[0][2]})")
        elif s.outcome != "accepted":
            problems.append(f"{frame_id}: an alert for a frame that was never accepted ({s.outcome})")
        elif rows[0][2] != subject_ref(s.person):
            problems.append(f"{frame_id}: the alert names {rows[0][2]}, the frame shows {subject_ref(s.person)}")
        elif rows[0][4] != sender.camera_of(s):
            problems.append(f"{frame_id}: the alert's camera is {rows[0][4]!r}, not {sender.camera_of(s)!r}")
    audit = dict(system.alert_audit_rows([row[3] for row in alerts]))
    wrong_audit = {row[0]: audit.get(str(row[3]), 0) for row in alerts if audit.get(str(row[3]), 0) != 1}
    if wrong_audit:
        problems.append(f"alert.create audit rows per alert are not one each: {wrong_audit}")
    # Frames flow on: for an outage, frames captured after the server is back; for a worker fault (the web keeps
    # accepting, the frames wait in their queue for the restarted worker), frames captured after the kill.
    flow_from = fault.recovered_at if outage else fault.injected_at
    after = [s for s in expected.values() if s.captured_mono > flow_from + 0.5]
    if len(after) < MIN_FRAMES_AFTER_RECOVERY:
        problems.append(f"only {len(after)} watchlisted frame(s) captured after the "
                        f"{'recovery' if outage else 'fault'} were accepted (at least {MIN_FRAMES_AFTER_RECOVERY} "
                        "expected): frames did not flow again")

    # The proof of deletion, once every accepted frame is finished (its payload gone from Redis) and the cameras'
    # open tracks have ended (a track's state lives a second or two after its last frame).
    try:
        wait_until(lambda: not phase_payloads(), max(1.0, deadline - time.monotonic()),
                   "the phase's frame payloads to leave Redis")
    except AssertionError:
        problems.append(f"frame payloads still in Redis: {phase_payloads()}")
    try:
        wait_until(lambda: not system.track_keys(), TRACKS_END_WITHIN_SECONDS, "the cameras' open tracks to end")
    except AssertionError:
        problems.append(f"open-track keys still in Redis {TRACKS_END_WITHIN_SECONDS:.0f}s on: {system.track_keys()}")
    # Frame-id keys: each expires within the replay window, and none is left claimed for a frame never accepted (it
    # would answer that frame's resend as a duplicate, and nothing was queued).
    id_keys = system.frame_id_keys(f"{phase}-")
    lasting = {k: ttl for k, (_, ttl) in id_keys.items() if ttl < 0 or ttl > FRAME_ID_TTL_SECONDS}
    if lasting:
        problems.append(f"frame-id keys without expiry or beyond {FRAME_ID_TTL_SECONDS}s: {lasting}")
    accepted_ids = {s.frame_id for s in accepted}
    claimed = sorted({fid for k, (fid, _) in id_keys.items() if k.startswith("lfr:frame-seen:")} - accepted_ids)
    if claimed:
        problems.append(f"frame ids left claimed in Redis for frames never accepted: {claimed}")
    residue = system.verify_no_residue([s.frame_id for s in sent], MARKER)
    if residue.returncode != 0 or "Nothing found." not in residue.stdout:
        problems.append(f"verify_no_residue (exit {residue.returncode}):\n{residue.stdout[-3000:]}"
                        f"{residue.stderr[-2000:]}")

    counters_after = system.counters()
    t0 = fault.injected_at
    summary = {
        "phase": phase, "fault": fault.evidence | {"at_risk": sorted(fault.at_risk)},
        "trigger_frame": trigger.frame_id,
        "outage_seconds": round(fault.recovered_at - fault.injected_at, 1),
        "frames_sent": len(sent), "outcomes": sender.outcomes(),
        "watchlisted_accepted": sum(1 for s in accepted if s.watchlisted),
        "refusal_answers": _count(f"{a.status} {a.code}" for _, a in refusals),
        "alerts_expected": len(expected), "alerts_made": len(by_frame), "alerts_missing": missing,
        "health_red_after_s": round(red.at - fault.injected_at, 1) if red else None,
        "health_red_checks": list(red.failing) if red else None,
        "health_green_after_recovery_s": round(green.at - fault.recovered_at, 1) if green else None,
        "residue_exit": residue.returncode,
        "frame_id_keys": len(id_keys),
        "refused_between_s": [round(min(a.at for _, a in refusals) - t0, 2),
                              round(max(a.at for _, a in refusals) - t0, 2)] if refusals else None,
        "accepted_during_fault": sorted(s.frame_id for s in accepted if t0 <= s.accepted_at <= fault.recovered_at),
        "health_timeline": _transitions(system.health.between(sender.started_at, time.monotonic()), t0),
        "phase_seconds": round(time.monotonic() - sender.started_at, 1),
        "counters_delta": {k: counters_after[k] - counters_before[k] for k in counters_after},
        "supervisor": [m for m in system.messages if float(m.split()[0]) >= sender.started_at],
    }
    SUMMARIES.append(summary)
    print(f"\nFAULT PHASE {json.dumps(summary)}")
    assert not problems, (f"{phase}: {len(problems)} problem(s):\n- " + "\n- ".join(problems)
                          + f"\nsummary: {json.dumps(summary, indent=1)}\n{system.log_tails(15)}")


def _alerts_when(system: FaultSystem, phase: str, done, deadline: float, finished) -> list[tuple]:
    """The phase's alerts once all expected are there, or every frame is finished (no payload left in Redis: a
    frame's alerts are committed before its payload goes) for a few seconds, or at the deadline (a frame may still
    be redelivered until its payload's TTL)."""
    finished_since = None
    while True:
        try:
            found = system.alerts(phase)
        except Exception:  # the database may still be coming back
            found = None
        try:
            all_finished = finished()
        except Exception:  # Redis may still be coming back
            all_finished = False
        finished_since = (finished_since or time.monotonic()) if all_finished else None
        settled = finished_since is not None and time.monotonic() - finished_since >= FINISHED_GRACE_SECONDS
        if found is not None and (done(found) or settled or time.monotonic() >= deadline):
            return found
        if time.monotonic() >= deadline + 30:
            raise AssertionError(f"the fault suite's database did not answer for its alerts ({phase})")
        time.sleep(0.5)


def _frame_story(s, fault: Fault) -> str:
    accepted = f"accepted {s.accepted_at - fault.injected_at:+.2f}s from the fault" if s.accepted_at else s.outcome
    return f"{s.frame_id} ({s.person}, {accepted}, {len(s.attempts)} attempt(s))"


def _transitions(samples, t0: float) -> list[str]:
    """/healthz as it changed: "<seconds from the fault> <status> <failing checks>"."""
    out, last = [], None
    for h in samples:
        state = (h.status, h.failing)
        if state != last:
            out.append(f"{h.at - t0:+.1f}s {h.status} {','.join(h.failing)}")
            last = state
    return out


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


# --- The tests: one shared system, in this order ------------------------------------------------


def test_a_worker_pool_process_killed_mid_frame(fault_system, fault_frames):
    run_phase(fault_system, fault_frames, "pool-kill", kill_pool_process, outage=None)


def test_a_worker_main_process_killed_mid_frame(fault_system, fault_frames):
    run_phase(fault_system, fault_frames, "main-kill", kill_main_process, outage=None)


def test_redis_stopped_and_started_again(fault_system, fault_frames):
    run_phase(fault_system, fault_frames, "redis-restart", stop_and_start_redis, outage="redis")


def test_postgresql_restarted(fault_system, fault_frames):
    run_phase(fault_system, fault_frames, "postgres-restart", restart_postgres, outage="database")
