"""Handing work to Celery without ever failing the caller: the one way services enqueue.

A service names the task (`"messaging.fetch_media"`) rather than importing it: tasks import services, never the
reverse, so no module imports back up."""

import atexit
import logging
import os
import threading

from django.db import transaction

from happycrm.celery import app

logger = logging.getLogger(__name__)


_task_modules_lock = threading.Lock()


def task_named(task):
    """The task itself, given it or its registered name, in the project's Celery app.

    The apps' task modules are imported on first need, by one thread: a web process's first requests arrive
    together, and a thread that finds the import begun by another would see the task missing."""
    if not isinstance(task, str):
        return task
    if task not in app.tasks:
        with _task_modules_lock:
            if task not in app.tasks:
                app.loader.import_default_modules()
    return app.tasks[task]


def send(task, *args, queue: str | None = None) -> bool:
    """`task.delay(*args)` (on `queue` if given), logging instead of raising: a broker that is down (or, in
    eager mode, a task that fails) must not fail the caller; what the task works on is stored and the
    periodic sweep queues it again."""
    name = task if isinstance(task, str) else task.name
    try:
        task = task_named(task)
        task.apply_async(args=args, queue=queue) if queue else task.delay(*args)
    except Exception:
        logger.exception("Could not queue %s%r; the sweep will pick it up", name, args)
        return False
    return True


def enqueue_on_commit(task, *args, queue: str | None = None) -> None:
    """Queue `task(*args)` once the current transaction commits."""
    transaction.on_commit(lambda: send(task, *args, queue=queue))


class Batcher:
    """Collects ids in this process and hands them to `task(ids)` in batches, from a background thread.

    The hot path (a webhook request) pays for a list append instead of a broker round trip; a
    batch leaves within `interval` seconds, or at once when `max_batch` ids are waiting. In
    eager mode (no broker) the task runs at once. Ids still buffered when a process dies
    belong to stored rows that the periodic sweep queues again, so nothing is lost.
    """

    def __init__(self, task, *, interval: float = 0.02, max_batch: int = 100):
        self._task = task
        self.interval = interval
        self.max_batch = max_batch
        self._ids: list[str] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @property
    def task(self):
        return task_named(self._task)

    def add_on_commit(self, item_id: str) -> None:
        transaction.on_commit(lambda: self.add(item_id))

    def add(self, item_id: str) -> None:
        if self.task.app.conf.task_always_eager:
            send(self.task, [item_id])
            return
        with self._lock:
            self._start_if_needed()
            self._ids.append(item_id)
            if len(self._ids) >= self.max_batch:
                self._wake.set()

    def flush(self) -> None:
        with self._lock:
            ids, self._ids = self._ids, []
        for start in range(0, len(ids), self.max_batch):
            send(self.task, ids[start : start + self.max_batch])

    def _start_if_needed(self) -> None:
        # One flusher per process: a forked worker (gunicorn, Celery) starts its own.
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        if self._pid != os.getpid():
            self._ids = []  # the parent's ids are the parent's to send
            atexit.register(self.flush)
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name=f"batcher-{self.task.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()
