"""Thin Celery wrappers."""

from celery import shared_task

from .services import conversations_wake_due


@shared_task(name="conversations.wake_snoozed")
def wake_snoozed() -> int:
    return conversations_wake_due()
