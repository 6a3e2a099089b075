from celery import shared_task

from .audit.services import audit_checkpoint_create
from .health import worker_heartbeat_write


@shared_task(name="lfr_governance.heartbeat", ignore_result=True)
def heartbeat(part: str = "") -> None:
    """Sent by beat; proves a worker is consuming the queue (`part`: the frames queue of that shard)."""
    worker_heartbeat_write(part)


@shared_task(name="audit.checkpoint", ignore_result=True)
def audit_checkpoint() -> None:
    """Sent by beat: signs the audit chain's head with the anchor key (a tampered log raises, and is not signed)."""
    audit_checkpoint_create()
