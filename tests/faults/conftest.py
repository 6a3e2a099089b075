"""One system of the fault suite's own (tests/faults/system.py) for the whole session: its servers are started once,
shared by every fault test, and stopped at the end whatever happened."""

import os
import shutil
import time
from pathlib import Path

import pytest

from lfr_governance import launcher

from .system import MARKER, EdgeSender, FaultSystem, frames_build, wait_until


@pytest.fixture(scope="session")
def fault_frames(faces_dir):
    return frames_build(faces_dir, MARKER)


@pytest.fixture(scope="session")
def fault_system(faces_dir, fault_frames):
    # Under var/ (git-ignored), not pytest's temporary folder: pytest sessions (this machine may run several) make
    # /tmp/pytest-of-<user> 0700 when they start, which would lock the PostgreSQL server's own user out of its data
    # folder (pg_ctl stop then fails); and the residue check's scan of the temporary folder stays about frames.
    root = Path(launcher.VAR_DIR) / "test-faults" / f"run-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    system = FaultSystem(root, faces_dir)
    started = time.monotonic()
    try:
        system.start()
        system.health.wait_green(120, "/healthz to be green once web, worker and beat are up")
        # Warm-up: every pool process loads the engine and the watchlist gallery before the first fault.
        warmup = EdgeSender(system.base_url, system.token, fault_frames, "warmup", fps=2.0)
        warmup.start(3.0)
        warmup.finish()
        assert warmup.outcomes() == {"accepted": 6}, warmup.outcomes()
        wait_until(lambda: system.counters()["frames_deleted"] >= 6, 120, "the warm-up frames to be processed")
        print(f"\nFAULT SETUP {time.monotonic() - started:.1f}s: services {sorted(system.supervisor.commands)}, "
              f"deployment {system.deployment_id}")
        yield system
    except BaseException:
        print(system.log_tails())
        raise
    finally:
        system.stop()
        shutil.rmtree(root, ignore_errors=True)
