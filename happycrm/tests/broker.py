"""The task queue for tests that need a real one: the broker switched for a test, a throwaway redis-server that
can be stopped or frozen, a worker in the test's process, and a spy on hand-offs. Loaded by the root conftest."""

import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from happycrm.celery import app
from messaging.services import outbound

DEAD_BROKER = "redis://127.0.0.1:9/0"  # nothing listens there: publishing fails as it does in an outage


def use_broker(url: str | None, *, eager: bool) -> None:
    if url is not None:
        app.conf.broker_url = url
    app.conf.task_always_eager = eager
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """Switch the Celery app's broker for one test and put it back afterwards."""
    saved = app.conf.broker_url, app.conf.task_always_eager
    yield use_broker
    use_broker(saved[0], eager=saved[1])


@pytest.fixture
def published(monkeypatch):
    """Every hand-off as (task, queue, ids), still going through the real publish."""
    calls = []
    real = outbound.send

    def spy(task, *args, queue=None):
        calls.append((getattr(task, "name", task), queue, args[0]))
        return real(task, *args, queue=queue)

    monkeypatch.setattr(outbound, "send", spy)
    return calls


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server (no persistence: a restart loses what was queued, as a crashed broker may)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        command = [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def hang(self) -> None:
        """The broker stops answering but keeps its connections open (a frozen host, a half-open network)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def queue_lengths(self) -> dict[str, int]:
        client = redis.Redis.from_url(self.url)
        return {name: client.llen(name) for name in ("celery", "campaigns")}


@pytest.fixture
def own_redis(broker):
    server = RedisServer()
    server.start()
    broker(server.url, eager=False)
    yield server
    if server.process.poll() is None:
        server.stop()


def wait_until(predicate, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def worker():
    return start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["celery", "campaigns"])
