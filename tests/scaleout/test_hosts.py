"""Scale-out of the frames workers across hosts, each host a Linux network namespace (tests/scaleout/network.py),
on one system shared by the module (tests/scaleout/system.py): PostgreSQL and Redis on the bridge address only; web,
beat and the default worker in the root namespace; LFR_FRAME_SHARDS=4; shard s's one worker on host s % H.

In this order (each test leaves the layout the next starts from):

1. four hosts: frames from 24 cameras (6 per shard), each camera's 5 frames sent one after another, spread over
   every host; each camera's frames are processed by exactly one worker, in its shard's host, in the order sent;
2. every frames worker reached PostgreSQL and Redis only from its host's address (pg_stat_activity.client_addr
   beside the worker's application_name; Redis CLIENT LIST), nothing listens on loopback;
3. the watchlist changes mid-run (a person removed: version 2, a new deployment on the same node, the old one
   cancelled in the same commit the new goes live), with every host stalled (SIGSTOP) across the switch while the
   old deployment's frames queue up: after the settling time no host alerts on the old gallery;
4. two hosts: the same burst, spread and order again;
5. a host killed (SIGKILL of everything in its namespace) while frames flow, its shards' workers started on the
   surviving host: every frame answered 202 is processed and deleted, each accepted watchlisted frame has exactly
   one alert;
6. one host: the same burst; the throughput of 1, 2 and 4 hosts printed as a table.

The observable for "which worker, in which order" is the frames worker's own record (tests/scaleout/frames_worker.py:
the same Celery worker, with task_prerun/task_postrun handlers appending one line per frame to a file of the pool
process's own, so line order is processing order, and each line names the pid, shard, host and the network namespace
inode the process really ran in). It is exact and independent of log levels and of tracking rules (a camera's
sightings would show order only for frames that join one track).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict

import pytest

from lfr_governance.launcher import BASE_DIR, _port_free
from matching.pipeline import CONTEXT_TTL_SECONDS
from tests.faults.system import subject_ref, wait_until

from .conftest import cameras_for, warm_up
from .network import SERVER_ADDRESS
from .system import SHARDS, CameraSender, Shot, camera_shard

pytestmark = pytest.mark.worker

CAMERAS_PER_SHARD = 6
FRAMES_PER_CAMERA = 5  # 24 cameras x 5 = 120 frames a burst
REMOVED = "person01"  # taken off the watchlist mid-run (test 3)
SETTLE_SECONDS = CONTEXT_TTL_SECONDS + 1.0  # a worker trusts what it knows of a deployment this long, plus a margin
KILL_FLOW_SECONDS, KILL_FPS, KILL_AFTER_SECONDS = 16.0, 8.0, 5.0
DRAIN_SECONDS = 90.0  # a killed worker's frame comes back after the 15 s visibility timeout, well inside this

THROUGHPUT: dict[int, dict] = {}


def _print(name: str, summary: dict) -> None:
    print(f"\nSCALEOUT {name} {json.dumps(summary, default=str)}")


def _kinds(frames):
    removed = [f for f in frames if f.person == REMOVED]
    kept = [f for f in frames if f.watchlisted and f.person != REMOVED]
    others = [f for f in frames if not f.watchlisted]
    return removed, kept, others


def _one_per_camera(system, label: str, count: int, pick) -> list[Shot]:
    """`count` shots, each its own passer-by on a camera of its own (as the fault suite's), shot k on shard k % 4:
    `pick(k)` chooses the frame."""
    cameras = cameras_for(system.node_id, label, (count + SHARDS - 1) // SHARDS)
    return [Shot(cameras[k % SHARDS][k // SHARDS], f"{label}-{k:03d}", pick(k)) for k in range(count)]


# --- Bursts: spread, order, throughput ------------------------------------------------------------


def burst(system, frames, label: str) -> dict:
    """24 cameras, 6 per shard, each sending its 5 frames one after another, 16 cameras at a time, as fast as they
    are answered; then every check of spread and order. Returns the summary (with throughput)."""
    cameras = cameras_for(system.node_id, label, CAMERAS_PER_SHARD)
    names = [c for s in range(SHARDS) for c in cameras[s]]
    shots = [Shot(camera, f"{camera}-f{k}", frames[(i * FRAMES_PER_CAMERA + k) % len(frames)])
             for k in range(FRAMES_PER_CAMERA) for i, camera in enumerate(names)]
    counters_before = system.counters()
    sender = CameraSender(system.base_url, system.token, shots, parallel=16)
    sender.start()
    sender.finish()
    assert sender.outcomes() == {"accepted": len(shots)}, sender.outcomes()
    ids = [s.frame_id for s in sender.sent]
    system.wait_processed(ids, 120)
    finished = system.frames_finished(ids)
    layout = {s: system.host_of(s) for s in range(SHARDS)}
    inodes = {h.name: h.netns_inode() for h in system.hosts}
    problems = []
    for frame_id in ids:
        ends = finished[frame_id]
        if len(ends) != 1 or ends[0].state != "SUCCESS":
            problems.append(f"{frame_id}: processed {len(ends)} time(s) ({[e.state for e in ends]}), not once")
    sent_order = defaultdict(list)
    for s in sender.sent:  # a camera's shots were sent one after another: their order here is the order sent
        sent_order[s.shot.camera].append(s.frame_id)
    for camera, sent_ids in sent_order.items():
        ends = [finished[f][0] for f in sent_ids]
        workers = {(r.host, r.shard, r.pid) for r in ends}
        shard, host = camera_shard(system.node_id, camera), layout[camera_shard(system.node_id, camera)]
        if len(workers) != 1:
            problems.append(f"{camera}: its frames were processed by {len(workers)} workers {sorted(workers)}")
            continue
        (worker_host, worker_shard, _), = workers
        if (worker_host, worker_shard) != (host.name, shard):
            problems.append(f"{camera}: processed by frames-{worker_shard} on {worker_host}, not its shard {shard}'s "
                            f"worker on {host.name}")
        if any(r.netns != inodes[host.name] for r in ends):
            problems.append(f"{camera}: processed outside {host.name}'s network namespace")
        processed = [r.frame_id for r in sorted(ends, key=lambda r: r.seq)]
        if processed != sent_ids or sorted(r.t for r in ends) != [r.t for r in sorted(ends, key=lambda r: r.seq)]:
            problems.append(f"{camera}: sent {sent_ids}, processed {processed}")
    per_host = Counter(finished[f][0].host for f in ids)
    per_shard = Counter(finished[f][0].shard for f in ids)
    hosts_in_use = sorted({h.name for h in layout.values()})
    idle = [h for h in hosts_in_use if not per_host.get(h)]
    if idle:
        problems.append(f"hosts with frames workers that processed none of the burst: {idle}")
    wait_until(lambda: system.counters()["frames_deleted"] - counters_before["frames_deleted"] >= len(ids), 30,
               "the burst's frames to be counted deleted")
    last_end = max(finished[f][0].t for f in ids)
    seconds = last_end - sender.started_at
    summary = {"label": label, "hosts": len(hosts_in_use), "layout": {s: h.name for s, h in layout.items()},
               "frames": len(ids), "cameras": len(sent_order), "seconds": round(seconds, 2),
               "refusals_retried": sender.refusals(),
               "frames_per_second": round(len(ids) / seconds, 2), "per_host": dict(sorted(per_host.items())),
               "per_shard": dict(sorted(per_shard.items())), "problems": problems}
    _print("BURST", summary)
    assert not problems, f"{label}: {len(problems)} problem(s):\n- " + "\n- ".join(problems)
    return summary


def test_1_frames_spread_over_four_hosts_in_camera_order(scaleout_system, scaleout_frames, host_network):
    assert {system_host.name for system_host in host_network.hosts} == {
        scaleout_system.host_of(s).name for s in range(SHARDS)}, "four hosts, one shard each"
    THROUGHPUT[4] = burst(scaleout_system, scaleout_frames, "h4")


# --- Addresses -------------------------------------------------------------------------------------


def test_2_workers_reach_the_servers_only_from_their_host_address(scaleout_system, host_network):
    system = scaleout_system
    allowed = {SERVER_ADDRESS, *(h.address for h in host_network.hosts)}
    problems = []
    # Nothing answers on loopback: the servers listen on the bridge address only.
    for what, port in (("PostgreSQL", system.pg.port), ("Redis", system.redis.port)):
        if not _port_free(port, "127.0.0.1"):
            problems.append(f"{what} answers on 127.0.0.1:{port}")
    clients = system.pg_clients()
    for user, address, app, count in clients:
        if address not in allowed:
            problems.append(f"PostgreSQL client {user}/{app or '-'} from {address} (not a host address)")
        if app.startswith("frames-"):
            host = next((h for h in host_network.hosts if app.endswith(f"@{h.name}")), None)
            if host is None or address != host.address:
                problems.append(f"PostgreSQL: {app} connected from {address}, not its host's address")
        elif address != SERVER_ADDRESS:
            problems.append(f"PostgreSQL: {user}/{app or '-'} (a root-namespace process) connected from {address}")
    for shard in range(SHARDS):
        host = system.host_of(shard)
        if not any(app == f"frames-{shard}@{host.name}" and address == host.address for _, address, app, _ in clients):
            problems.append(f"PostgreSQL: no connection of frames-{shard} from {host.name} ({host.address})")
    redis_clients = system.redis_clients()
    for address in redis_clients:
        if address not in allowed:
            problems.append(f"Redis client from {address} (not a host address)")
    for host in {system.host_of(s) for s in range(SHARDS)}:
        if not redis_clients.get(host.address):
            problems.append(f"Redis: no connection from {host.name} ({host.address})")
    _print("ADDRESSES", {"postgres": clients, "redis": redis_clients, "problems": problems})
    assert not problems, "\n- ".join(["traffic off the host addresses:", *problems])


# --- Gallery change --------------------------------------------------------------------------------


def test_3_watchlist_change_reaches_every_host(scaleout_system, scaleout_frames, host_network):
    """Before: every host alerts on the person about to be removed (the control). Then every host is stalled
    (SIGSTOP of everything in its namespace) while the old deployment's frames queue up, the switch commits, and the
    hosts resume only after the settling time: those queued frames, matched after it, must alert nowhere. After: the
    new deployment's frames of the removed person alert on no host, the kept people's alert once, on every host,
    naming entries of the new version (never the old gallery's)."""
    system = scaleout_system
    removed, kept, others = _kinds(scaleout_frames)
    old_deployment = system.deployment_id
    hosts = sorted({system.host_of(s) for s in range(SHARDS)}, key=lambda h: h.number)

    def pick(k):  # shard k % 4; per group of four: the removed person, a kept one, nobody watchlisted
        kind = (removed, kept, others)[(k // SHARDS) % 3]
        return kind[(k // (SHARDS * 3)) % len(kind)]

    def send(label: str, count: int, fps: float | None = None) -> CameraSender:
        sender = CameraSender(system.base_url, system.token, _one_per_camera(system, label, count, pick), fps=fps,
                              parallel=16)
        sender.start()
        return sender

    change = subprocess.Popen([sys.executable, "-m", "tests.scaleout.watchlist_change", str(old_deployment),
                               subject_ref(REMOVED)], cwd=BASE_DIR, env=system.env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stalled = False
    try:
        line = change.stdout.readline()
        assert line.strip() == "READY", f"the watchlist change failed: {line}{change.stderr.read()[-3000:]}"
        control = send("gal-a", 24).finish()
        system.wait_processed([s.frame_id for s in control.accepted()], 60)
        for host in hosts:
            host.signal_all(signal.SIGSTOP)
        stalled = True
        queued = send("gal-b", 24).finish()  # the web runs on: they wait in the queues of the stalled hosts
        change.stdin.write("go\n")
        change.stdin.flush()
        out, err = change.communicate(timeout=60)
        assert change.returncode == 0, f"the watchlist change failed ({change.returncode}):\n{out}\n{err[-3000:]}"
        switch = json.loads(out.strip().splitlines()[-1])
        switched_at = switch["switched_at"]
        time.sleep(max(0.0, switched_at + SETTLE_SECONDS - time.time()))
    finally:
        if stalled:
            for host in hosts:
                host.signal_all(signal.SIGCONT)
        if change.poll() is None:
            change.kill()
    resumed_at = time.time()
    new_deployment = switch["deployment_id"]
    after = send("gal-c", 48, fps=8.0).finish()
    senders = {"control": control, "queued": queued, "after": after}
    for name, sender in senders.items():
        assert sender.outcomes() == {"accepted": len(sender.sent)}, (name, sender.outcomes())
    accepted = [s for sender in senders.values() for s in sender.sent]
    system.wait_processed([s.frame_id for s in accepted], DRAIN_SECONDS)
    finished = system.frames_finished([s.frame_id for s in accepted])
    starts = {(r.frame_id, r.pid): r for r in system.records() if r.event == "start"}
    by_frame = defaultdict(list)
    for row in system.alerts_like("gal-"):
        by_frame[row[0]].append(row)
    problems = []
    bit: dict[str, set[str]] = defaultdict(set)  # which hosts each check saw something on
    for phase, sender in senders.items():
        for s in sender.sent:
            ends = finished[s.frame_id]
            end, rows, person = ends[0], by_frame.get(s.frame_id, []), s.shot.frame.person
            started = starts[(s.frame_id, end.pid)].t
            where = f"{s.frame_id} ({person}, on {end.host}, matched {started - switched_at:+.2f}s from the switch)"
            expected_deployment = old_deployment if phase in ("control", "queued") else new_deployment
            if len(ends) != 1 or end.deployment_id != expected_deployment:
                problems.append(f"{where}: processed {len(ends)} time(s) for deployment {end.deployment_id}")
                continue
            if phase == "control":
                if s.shot.frame.watchlisted != bool(rows) or len(rows) > 1:
                    problems.append(f"{where}: before the change, alerts {rows}")
                elif person == REMOVED:
                    bit["alerted on the removed person before the change"].add(end.host)
            elif phase == "queued":
                if started < switched_at + SETTLE_SECONDS:
                    problems.append(f"{where}: matched before the hosts resumed (the stall did not hold)")
                elif rows:
                    problems.append(f"{where}: the cancelled deployment's frame alerted after the settling time")
                elif s.shot.frame.watchlisted:
                    bit["matched none of the cancelled deployment's watchlisted frames after the settling"].add(
                        end.host)
            else:
                if any(r[7] != switch["version_id"] for r in rows):
                    problems.append(f"{where}: an alert names an entry of another version (the old gallery)")
                elif person == REMOVED:
                    if rows:
                        problems.append(f"{where}: the removed person alerted")
                    else:
                        bit["matched the removed person without alerting after the change"].add(end.host)
                elif s.shot.frame.watchlisted:
                    if len(rows) != 1 or rows[0][2] != subject_ref(person):
                        problems.append(f"{where}: alerts {rows}, not one for {subject_ref(person)}")
                    else:
                        bit["alerted on a kept person after the change"].add(end.host)
                elif rows:
                    problems.append(f"{where}: nobody watchlisted, yet alerts {rows}")
    names = {h.name for h in hosts}
    for check in ("alerted on the removed person before the change",
                  "matched none of the cancelled deployment's watchlisted frames after the settling",
                  "matched the removed person without alerting after the change",
                  "alerted on a kept person after the change"):
        if bit[check] != names:
            problems.append(f"hosts that {check}: {sorted(bit[check])}, not all of {sorted(names)}")
    for deployment in (old_deployment, new_deployment):
        try:
            wait_until(lambda: system.counters_of(deployment)["frames_deleted"]
                       == system.counters_of(deployment)["frames_received"], 30, f"deployment {deployment}'s frames "
                       "to be counted deleted")
        except AssertionError as exc:
            problems.append(f"{exc} {system.counters_of(deployment)}")
    system.deployment_id = new_deployment  # the node's live deployment from now on
    summary = {"old_deployment": old_deployment, "new_deployment": new_deployment, "version": switch["version_number"],
               "old_digest": switch["old_digest"][:12], "new_digest": switch["digest"][:12], "size": switch["size"],
               "stalled_after_switch_s": round(resumed_at - switched_at, 2),
               "frames": {name: len(sender.sent) for name, sender in senders.items()},
               "hosts_per_check": {k: sorted(v) for k, v in bit.items()}, "problems": problems}
    _print("GALLERY", summary)
    assert not problems, "\n- ".join(["the watchlist change did not reach every host:", *problems])


# --- Two hosts, then one killed ---------------------------------------------------------------------


def test_4_two_hosts(scaleout_system, scaleout_frames, host_network):
    system = scaleout_system
    h1, h2 = host_network.hosts[:2]
    moved = [s for s in range(SHARDS) if system.host_of(s) != (h1, h2)[s % 2]]
    system.layout([h1, h2])
    warm_up(system, scaleout_frames, "warmup-h2", shards=moved)
    THROUGHPUT[2] = burst(system, scaleout_frames, "h2")


def test_5_a_killed_host_loses_nothing_acknowledged(scaleout_system, scaleout_frames, host_network):
    system = scaleout_system
    h1, h2 = host_network.hosts[:2]
    assert {system.host_of(s) for s in range(SHARDS)} == {h1, h2}
    victims = [s for s in range(SHARDS) if system.host_of(s) == h2]
    _, kept, others = _kinds(scaleout_frames)
    count = int(KILL_FLOW_SECONDS * KILL_FPS)

    def pick(k):  # shard k % 4; per group of four: a watchlisted person, then nobody watchlisted
        kind = (kept, others)[(k // SHARDS) % 2]
        return kind[(k // (SHARDS * 2)) % len(kind)]

    shots = _one_per_camera(system, "kill", count, pick)
    by_id = {s.frame_id: s for s in shots}
    counters_before = system.counters()
    sender = CameraSender(system.base_url, system.token, shots, fps=KILL_FPS, parallel=16)
    sender.start()
    try:
        time.sleep(KILL_AFTER_SECONDS)
        # Right behind an accepted watchlisted frame of the doomed host: likely in the middle of matching it.
        mark = time.time()
        wait_until(lambda: any(s.accepted_at and s.accepted_at >= mark and s.shot.frame.watchlisted
                               and camera_shard(system.node_id, s.shot.camera) in victims for s in sender.sent),
                   10, "a watchlisted frame for the doomed host", interval=0.02)
        killed_at = time.time()
        killed = h2.kill_all()
        wait_until(lambda: not h2.pids(), 10, f"every process in {h2.name} to die")
        for shard in victims:
            system.frames_workers.pop(shard).process.wait(10)
        restarted = [system.frames_worker_start(shard, h1) for shard in victims]
        system.frames_workers_wait_ready(restarted)
        ready_at = time.time()
    finally:
        sender.finish()
    accepted = sender.accepted()
    outcomes = sender.outcomes()
    assert set(outcomes) <= {"accepted"}, outcomes  # the web runs on: nothing is refused for a dead host
    system.wait_processed([s.frame_id for s in accepted], DRAIN_SECONDS)
    wait_until(lambda: not system.all_payload_keys(), 30, "no frame payload left in Redis")
    counters = system.counters()
    records = system.records()
    problems = []
    if counters["frames_deleted"] != counters["frames_received"]:
        problems.append(f"frames_deleted {counters['frames_deleted']} != frames_received "
                        f"{counters['frames_received']}")
    received = counters["frames_received"] - counters_before["frames_received"]
    if received != len(accepted):
        problems.append(f"{len(accepted)} frames answered 202, {received} counted received")
    left = system.all_payload_keys()
    if left:
        problems.append(f"payload keys left in Redis: {left}")
    # Alerts: exactly one per accepted watchlisted frame, naming its person and camera; none for any other.
    alerts = system.alerts_like("kill-")
    by_frame = defaultdict(list)
    for row in alerts:
        by_frame[row[0]].append(row)
    accepted_ids = {s.frame_id for s in accepted}
    for s in accepted:
        rows = by_frame.get(s.frame_id, [])
        if s.shot.frame.watchlisted:
            if len(rows) != 1:
                problems.append(f"{s.frame_id} ({s.shot.frame.person}): {len(rows)} alerts, not 1")
            elif rows[0][2] != subject_ref(s.shot.frame.person) or rows[0][4] != s.shot.camera:
                problems.append(f"{s.frame_id}: the alert names {rows[0][2]} on {rows[0][4]}")
    for frame_id, rows in by_frame.items():
        if frame_id not in accepted_ids or not by_id[frame_id].frame.watchlisted:
            problems.append(f"{frame_id}: alerts {rows} for a frame not accepted or showing nobody watchlisted")
    audit = dict(system.alert_audit_rows([row[3] for row in alerts]))
    wrong = {row[0]: audit.get(str(row[3]), 0) for row in alerts if audit.get(str(row[3]), 0) != 1}
    if wrong:
        problems.append(f"alert.create audit rows not one per alert: {wrong}")
    # Where the frames went: the doomed host's shards on it before the kill, on the survivor after.
    ends, starts = defaultdict(list), defaultdict(list)
    for r in records:
        if r.frame_id in accepted_ids and r.event in ("start", "end"):
            (ends if r.event == "end" else starts)[r.frame_id].append(r)
    in_flight = sorted(f for f, rs in starts.items()
                       if any(r.host == h2.name for r in rs) and not any(e.host == h2.name for e in ends[f]))
    on_h2 = sum(1 for f in accepted_ids if any(e.host == h2.name for e in ends[f]))
    for s in accepted:
        if camera_shard(system.node_id, s.shot.camera) in victims and s.accepted_at > killed_at:
            if any(e.host != h1.name for e in ends[s.frame_id]):
                problems.append(f"{s.frame_id}: accepted after the kill, yet processed on "
                                f"{[e.host for e in ends[s.frame_id]]}")
    for f in in_flight:
        if not any(e.host == h1.name and e.state == "SUCCESS" for e in ends[f]):
            problems.append(f"{f}: in flight on {h2.name} when it was killed, never processed after")
    if not on_h2:
        problems.append(f"{h2.name} processed none of the flow before it was killed: the kill proved nothing")
    # Nothing of the dead host talks to the servers any more.
    try:
        wait_until(lambda: not system.redis_clients().get(h2.address) and not any(
            address == h2.address for _, address, _, _ in system.pg_clients()), 15,
            f"{h2.name}'s connections to close")
    except AssertionError as exc:
        problems.append(str(exc))
    summary = {"killed_host": h2.name, "killed_pids": len(killed), "shards_moved": victims,
               "outcomes": outcomes, "refusals_retried": sender.refusals(), "accepted": len(accepted),
               "watchlisted_accepted": sum(1 for s in accepted if s.shot.frame.watchlisted),
               "alerts": len(alerts), "processed_on_killed_host_before": on_h2,
               "in_flight_at_kill_redelivered": in_flight,
               "replacement_ready_after_s": round(ready_at - killed_at, 1),
               "counters": counters, "problems": problems}
    _print("KILL", summary)
    assert not problems, "\n- ".join([f"killing {h2.name} lost or duplicated work:", *problems])


def test_6_one_host_and_the_throughput_table(scaleout_system, scaleout_frames, host_network):
    system = scaleout_system
    h1 = host_network.hosts[0]
    assert system.layout([h1]) == {s: h1.name for s in range(SHARDS)}  # where the kill left it: nothing moves
    THROUGHPUT[1] = burst(system, scaleout_frames, "h1")
    missing = [h for h in (1, 2, 4) if h not in THROUGHPUT]
    lines = ["", "SCALEOUT THROUGHPUT (frames processed per second, end to end: first POST to last frame finished)",
             f"{'hosts':>5} {'frames':>6} {'seconds':>8} {'frames/s':>9}  per host"]
    for hosts in sorted(THROUGHPUT):
        t = THROUGHPUT[hosts]
        lines.append(f"{hosts:>5} {t['frames']:>6} {t['seconds']:>8.2f} {t['frames_per_second']:>9.2f}  "
                     f"{t['per_host']}")
    lines.append(f"note: every 'host' is a namespace on this one machine ({os.cpu_count()} CPU cores shared by the "
                 "web, the workers, PostgreSQL, Redis and the sender), so the total cannot grow with hosts here; "
                 "the table shows the work spread, not added capacity.")
    print("\n".join(lines))
    assert not missing, f"throughput not measured for {missing} host(s) (an earlier test failed)"
