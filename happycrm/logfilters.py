"""Log filters the settings' LOGGING names."""

import logging

from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS


class QuietTaskLines(logging.Filter):
    """Drop Celery's "Task … received" and "Task … succeeded in …" INFO lines for `tasks`: a task that logs its own
    summary (a batch of webhook events, hundreds a second) would otherwise fill the worker's log with them.
    Retries and failures of those tasks are still logged."""

    def __init__(self, tasks=()):
        super().__init__()
        self.tasks = frozenset(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in (LOG_RECEIVED, LOG_SUCCESS) or not isinstance(record.args, dict):
            return True
        return record.args.get("name") not in self.tasks
