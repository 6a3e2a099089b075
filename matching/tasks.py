from celery import shared_task
from celery.signals import task_prerun
from django.db import close_old_connections

from . import pipeline


# Acknowledged only when done, and put back if the worker dies: the frame waits in Redis meanwhile.
@shared_task(name="matching.process_frame", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process_frame_task(*, deployment_id: int, node_id: int, frame_id: str, captured_at: str, received_at: float,
                       camera: str) -> None:
    close_old_connections()  # the connection is reused across tasks (CELERY_DB_REUSE_MAX): drop a broken one
    pipeline.frame_process(deployment_id=deployment_id, node_id=node_id, frame_id=frame_id, captured_at=captured_at,
                           received_at=received_at, camera=camera)


@task_prerun.connect
def _forget_stale_galleries(**kwargs) -> None:
    # Any task (the 15-second heartbeat included) lets a worker drop the watchlist of a deployment that ended.
    pipeline.galleries_forget_stale()
