"""Handing work to Celery without ever failing the caller."""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args) -> None:
    """Queue `task(*args)` once the current transaction commits.

    A broker that is down (or, in eager mode, a task that fails) is logged and swallowed:
    what the task works on is already stored, and the periodic sweep queues it again.
    """

    def send():
        try:
            task.delay(*args)
        except Exception:
            logger.exception("Could not queue %s%r; the sweep will pick it up", task.name, args)

    transaction.on_commit(send)
