from celery import shared_task

from . import services


@shared_task(name="retention.purge", ignore_result=True, acks_late=True, autoretry_for=(Exception,),
             retry_backoff=30, max_retries=5)
def purge_task() -> None:
    services.purge_run()
