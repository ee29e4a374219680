from celery import shared_task

from .services import events_prune


@shared_task(name="notifications.prune_events")
def prune_events() -> int:
    return events_prune()
