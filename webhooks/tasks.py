"""Thin Celery wrappers on the webhooks queue (CELERY_TASK_ROUTES): they take ids and are safe to run twice (an
attempt is claimed by a conditional update; the dispatcher holds the cursor's lock)."""

from celery import shared_task

from .services import deliveries_attempt, deliveries_dispatch, deliveries_retry_due


@shared_task(name="webhooks.dispatch")
def dispatch() -> int:
    return deliveries_dispatch()


# The lowest priority on the queue: a backlog of sends never holds up the dispatcher or the retry sweep (the Redis
# transport serves a queue's higher priorities first).
@shared_task(name="webhooks.deliver", priority=9)
def deliver(*delivery_pks: int) -> None:
    """A batch of one subscription's deliveries (a task queued before batches carries one)."""
    deliveries_attempt(delivery_pks=delivery_pks)


@shared_task(name="webhooks.retry_due")
def retry_due() -> int:
    return deliveries_retry_due()
