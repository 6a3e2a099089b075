from celery import shared_task

from .health import worker_heartbeat_write


@shared_task(name="lfr_governance.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Sent by beat; proves a worker is consuming the queue."""
    worker_heartbeat_write()
