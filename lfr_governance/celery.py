import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lfr_governance.settings.development")

app = Celery("lfr_governance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The project package is not an installed app, so name it for its own tasks module.
app.autodiscover_tasks(["lfr_governance"])


@worker_ready.connect
def _first_heartbeat(sender=None, **kwargs) -> None:
    # A worker proves itself at once on start-up; beat's heartbeat task keeps it fresh.
    from django.conf import settings

    from lfr_governance.health import worker_heartbeat_write

    if settings.LFR_WORKER_ROLE == "frames":
        worker_heartbeat_write(os.environ.get("LFR_FRAME_SHARD", ""))  # its shard (the run command and compose set it)
        return
    worker_heartbeat_write()
    # A purge at start-up too, so a fresh or restarted system proves its retention job at once.
    sender.app.send_task("retention.purge")
