import logging
import os
import threading
import time
from types import SimpleNamespace

import pytest

from happycrm.queue import Batcher


class FakeTask:
    name = "tests.fake"

    def __init__(self, eager=False, fail=False):
        self.app = SimpleNamespace(conf=SimpleNamespace(task_always_eager=eager))
        self.fail = fail
        self.batches = []
        self.done = threading.Event()

    def delay(self, ids):
        if self.fail:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.batches.append(list(ids))
        self.done.set()


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def test_ids_leave_in_batches_from_the_background():
    task = FakeTask()
    batcher = Batcher(task, interval=0.01, max_batch=100)
    ids = [f"id-{n}" for n in range(250)]
    for item in ids:
        batcher.add(item)
    assert wait_for(lambda: sum(len(batch) for batch in task.batches) == 250)
    assert [item for batch in task.batches for item in batch] == ids
    assert all(len(batch) <= 100 for batch in task.batches)
    assert len(task.batches) < 250


def test_a_lone_id_leaves_within_the_interval():
    task = FakeTask()
    Batcher(task, interval=0.01).add("only")
    assert task.done.wait(timeout=5)
    assert task.batches == [["only"]]


def test_eager_mode_sends_at_once_in_the_caller():
    task = FakeTask(eager=True)
    Batcher(task).add("now")
    assert task.batches == [["now"]]


def test_a_broker_that_is_down_is_logged_not_raised(caplog):
    task = FakeTask(fail=True)
    batcher = Batcher(task, interval=60)
    batcher.add("lost-in-transit")
    with caplog.at_level(logging.ERROR, logger="happycrm.queue"):
        batcher.flush()
    assert "the sweep will pick it up" in caplog.text
    batcher.flush()  # the buffer was emptied: the stored row is the sweep's now
    assert caplog.text.count("Could not queue") == 1


FIRST_LOOKUPS = """
import threading, django
django.setup()
from happycrm.queue import task_named
found = []
barrier = threading.Barrier(16)
def look():
    barrier.wait()
    try:
        found.append(task_named("messaging.process_webhook_events").name)
    except Exception as exc:
        found.append(type(exc).__name__)
threads = [threading.Thread(target=look) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(sorted(set(found)))
"""


@pytest.mark.slow
def test_the_first_lookups_of_a_new_process_find_the_task_from_every_thread():
    """A web process's first requests come at once, each in its thread: every one finds the task by its name."""
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "happycrm.settings.test", "PYTHONPATH": str(settings.BASE_DIR)}
    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-c", FIRST_LOOKUPS], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        assert result.stdout.strip().splitlines()[-1] == "['messaging.process_webhook_events']"
