"""The run command's supervision: a child that dies is restarted with a growing backoff (reset once it has run
long enough) while the others keep running, and SIGTERM stops them all. Small fake children, short times."""

import os
import signal
import subprocess
import sys
import time

from lfr_governance.launcher import BASE_DIR, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not running
        return f.read().split(") ")[-1][0] != "Z"


def _poll_until(supervisor, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.poll_once()
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_a_dead_child_is_restarted_with_backoff_and_the_others_keep_running():
    said = []
    supervisor = Supervisor({"web": SLEEPER, "worker": SLEEPER, "beat": SLEEPER}, backoff_start=0.2,
                            backoff_cap=0.8, healthy_after=1.5, say=said.append)
    supervisor.start()
    try:
        web, beat = supervisor.processes["web"].pid, supervisor.processes["beat"].pid
        delays = []
        for _ in range(4):
            old = supervisor.processes["worker"]
            killed_at = time.monotonic()
            os.kill(old.pid, signal.SIGKILL)
            _poll_until(supervisor, lambda: "worker" in supervisor.processes
                        and supervisor.processes["worker"].pid != old.pid)
            delays.append(time.monotonic() - killed_at)
        assert [round(d, 1) >= expected for d, expected in zip(delays, (0.2, 0.4, 0.8, 0.8))] == [True] * 4, delays
        assert delays[3] < 1.5, delays  # capped
        assert supervisor.restarts["worker"] == 4
        assert supervisor.processes["web"].pid == web and supervisor.processes["beat"].pid == beat
        assert _alive(web) and _alive(beat) and _alive(supervisor.processes["worker"].pid)
        assert sum("worker exited with status -9" in line for line in said) == 4
        assert sum("worker restarted" in line for line in said) == 4

        time.sleep(1.6)  # ran long enough: the backoff starts again from the beginning
        supervisor.poll_once()
        os.kill(supervisor.processes["worker"].pid, signal.SIGKILL)
        _poll_until(supervisor, lambda: "worker" not in supervisor.processes)
        assert "restarting it in 0.2s" in said[-1]
    finally:
        supervisor.stop_all(timeout=5)
    assert not any(_alive(p.pid) for p in supervisor.processes.values())


def test_an_optional_child_may_finish_without_being_restarted():
    said = []
    supervisor = Supervisor({"web": SLEEPER, "demo-camera": [sys.executable, "-c", "pass"]},
                            optional={"demo-camera"}, backoff_start=0.1, say=said.append)
    supervisor.start()
    try:
        _poll_until(supervisor, lambda: "demo-camera" not in supervisor.processes)
        time.sleep(0.3)
        supervisor.poll_once()
        assert "demo-camera" not in supervisor.processes and said == ["demo-camera finished (status 0)"]
        assert _alive(supervisor.processes["web"].pid)
    finally:
        supervisor.stop_all(timeout=5)


SUPERVISED = """
import sys
from lfr_governance.launcher import Supervisor
sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
supervisor = Supervisor({"web": sleeper, "worker": sleeper, "beat": sleeper}, poll_seconds=0.05)
supervisor.signals_install()
supervisor.start()
print(" ".join(str(p.pid) for p in supervisor.processes.values()), flush=True)
try:
    code = supervisor.run()
finally:
    supervisor.stop_all(timeout=5)
print("stopped", flush=True)
sys.exit(code)
"""


def test_sigterm_stops_every_child():
    parent = subprocess.Popen([sys.executable, "-c", SUPERVISED], cwd=BASE_DIR, stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 3 and all(_alive(p) for p in pids)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(15) == 0
        assert parent.stdout.read().strip().endswith("stopped")
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in pids)
    finally:
        if parent.poll() is None:
            parent.kill()
