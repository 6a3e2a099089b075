from celery import shared_task

from . import services


@shared_task(name="deployments.schedule_tick", ignore_result=True)
def deployments_schedule_tick_task() -> None:
    services.deployments_schedule_tick()

