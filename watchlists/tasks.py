from celery import shared_task

from . import services


@shared_task(name="watchlists.reference_image_assess", acks_late=True, ignore_result=True)
def reference_image_assess_task(image_id: int) -> None:
    services.reference_image_assess(image_id=image_id)


@shared_task(name="watchlists.bulk_import_run", acks_late=True, ignore_result=True)
def bulk_import_run_task(import_id: int) -> None:
    from .bulk import bulk_import_run

    bulk_import_run(import_id=import_id)
