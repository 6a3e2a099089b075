"""Celery tasks: each takes ids and calls one service (the services enqueue them by name, on commit)."""

from celery import shared_task

from . import bulk, services
from .choices import ASSESS_TASK, BULK_IMPORT_TASK


@shared_task(name=ASSESS_TASK, acks_late=True, ignore_result=True)
def reference_image_assess_task(image_id: int) -> None:
    services.reference_image_assess(image_id=image_id)


@shared_task(name=BULK_IMPORT_TASK, acks_late=True, ignore_result=True)
def bulk_import_run_task(import_id: int) -> None:
    bulk.bulk_import_run(import_id=import_id)
