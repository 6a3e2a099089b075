"""One scale-out system for the module (tests/scaleout/system.py): four simulated hosts (network namespaces), the
servers on the bridge address, web, beat and the default worker in the root namespace, the four frames shards'
workers one per host; stopped, and the namespaces removed, at the end whatever happened.

Skipped (failed where CI is set) when namespaces cannot be made: not root, no iproute2, or `ip netns add` refused.
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from lfr_governance import launcher
from tests.faults.system import MARKER, frames_build

from . import network
from .system import SHARDS, CameraSender, ScaleoutSystem, Shot, camera_shard

HOSTS = 4


@pytest.fixture(scope="module")
def scaleout_frames(faces_dir):
    return frames_build(faces_dir, MARKER)


@pytest.fixture(scope="module")
def host_network():
    problem = network.problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"The scale-out suite cannot make its hosts: {problem}.")
        pytest.skip(f"The scale-out suite needs network namespaces: {problem}.")
    net = network.HostNetwork(HOSTS)
    try:
        net.create()
        yield net
    finally:
        left = net.destroy()
        assert not left, f"namespaces or links left behind: {left}"


def cameras_for(node_id: int, label: str, per_shard: int) -> dict[int, list[str]]:
    """`per_shard` camera names for each shard (matching.routing.camera_shard with 4 shards)."""
    found: dict[int, list[str]] = {s: [] for s in range(SHARDS)}
    number = 0
    while any(len(v) < per_shard for v in found.values()):
        camera = f"{label}-cam-{number:03d}"
        shard = camera_shard(node_id, camera)
        if len(found[shard]) < per_shard:
            found[shard].append(camera)
        number += 1
    return found


def warm_up(system, frames, label: str, shards=range(SHARDS)) -> None:
    """Two frames per shard, so each new worker has loaded the engine and the gallery before anything is timed."""
    cameras = cameras_for(system.node_id, label, 2)
    shots = [Shot(camera, f"{camera}-f0", frames[i % len(frames)])
             for i, camera in enumerate(c for s in shards for c in cameras[s])]
    sender = CameraSender(system.base_url, system.token, shots)
    sender.start()
    sender.finish()
    assert sender.outcomes() == {"accepted": len(shots)}, sender.outcomes()
    system.wait_processed([s.frame_id for s in shots], 120)


@pytest.fixture(scope="module")
def scaleout_system(host_network, faces_dir, scaleout_frames):
    # Under var/ (git-ignored), as the fault suite's: PostgreSQL's own user must reach its data folder.
    root = Path(launcher.VAR_DIR) / "test-scaleout" / f"run-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    system = ScaleoutSystem(root, faces_dir, host_network.hosts)
    started = time.monotonic()
    try:
        system.start()
        layout = system.layout(host_network.hosts)
        warm_up(system, scaleout_frames, "warmup")
        print(f"\nSCALEOUT SETUP {time.monotonic() - started:.1f}s: deployment {system.deployment_id}, servers at "
              f"{network.SERVER_ADDRESS}, frames shards on {layout}")
        yield system
    except BaseException:
        print(system.log_tails())
        raise
    finally:
        system.stop()
        keep = os.environ.get("LFR_SCALEOUT_KEEP_LOGS")
        if keep:
            shutil.copytree(root / "logs", Path(keep) / "logs", dirs_exist_ok=True)
            shutil.copytree(root / "records", Path(keep) / "records", dirs_exist_ok=True)
        shutil.rmtree(root, ignore_errors=True)
