"""A frames worker exactly as launcher.service_commands starts it (`python -m celery -A lfr_governance worker
--concurrency 1 --queues lfr.frames.<n> ...`: the same arguments follow), with one addition the scale-out test reads:
each frame task's start and end, and the worker's readiness, appended as JSON lines to a file of its own under
$LFR_SCALEOUT_RECORDS, naming the frame, its camera and deployment, the process, the shard and the network namespace
it ran in (/proc/self/ns/net's inode, compared by the test with the namespace's). Frame ids and camera names only:
nothing about a face.

    ip netns exec lfr-host-1 python -m tests.scaleout.frames_worker -A lfr_governance worker ...
"""

import json
import os
import sys
import time

from celery.signals import task_postrun, task_prerun, worker_ready

FRAME_TASK = "matching.process_frame"


def _write(event: str, **fields) -> None:
    folder = os.environ.get("LFR_SCALEOUT_RECORDS")
    if not folder:
        return
    line = {"event": event, "t": time.time(), "pid": os.getpid(), "host": os.environ.get("LFR_SCALEOUT_HOST", ""),
            "shard": os.environ.get("LFR_FRAME_SHARD", ""), "netns": os.stat("/proc/self/ns/net").st_ino, **fields}
    path = os.path.join(folder, f"{line['host']}-shard{line['shard']}-{os.getpid()}.jsonl")
    with open(path, "a") as fh:  # one write per line, closed at once: a SIGKILL loses no earlier line
        fh.write(json.dumps(line) + "\n")


def _frame(kwargs) -> dict:
    kwargs = kwargs or {}
    return {"frame_id": kwargs.get("frame_id"), "camera": kwargs.get("camera"),
            "deployment_id": kwargs.get("deployment_id"), "node_id": kwargs.get("node_id")}


@task_prerun.connect
def _started(sender=None, task_id=None, kwargs=None, **_):
    if getattr(sender, "name", "") == FRAME_TASK:
        _write("start", task_id=task_id, **_frame(kwargs))


@task_postrun.connect
def _ended(sender=None, task_id=None, kwargs=None, state=None, **_):
    if getattr(sender, "name", "") == FRAME_TASK:
        _write("end", task_id=task_id, state=state, **_frame(kwargs))


@worker_ready.connect
def _ready(**_):
    _write("ready")


def main() -> None:
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
