"""Waking agents' streams when events are stored: Redis pub/sub across processes, a condition in one process.

The signal carries nothing a stream relies on: a woken stream reads the events after its
cursor from the database, so a lost or doubled signal never loses or repeats an event.
"""

import contextlib
import threading
import time

import redis
from django.conf import settings
from django.db import transaction

CHANNEL = "happycrm:events"
REDIS_POLL_SECONDS = 15.0
LOCAL_POLL_SECONDS = 2.0

_local = threading.Condition()
_local_serial = 0


def announce() -> None:
    """Wake every stream once the current transaction has committed its events."""
    transaction.on_commit(_wake)


def _wake() -> None:
    global _local_serial
    if settings.REDIS_URL:
        # Streams also re-read the database at every keepalive, so a lost signal only delays.
        with contextlib.suppress(redis.RedisError):
            _client().publish(CHANNEL, "1")
    with _local:
        _local_serial += 1
        _local.notify_all()


_redis = None


def _client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


class Listener:
    """What a stream waits on: a Redis subscription, or this process's condition without Redis.

    Without Redis another process (a worker, a command) cannot signal, so streams also look
    at the database every `poll_seconds`.
    """

    def __init__(self):
        self.poll_seconds = REDIS_POLL_SECONDS if settings.REDIS_URL else LOCAL_POLL_SECONDS
        self._pubsub = None
        if settings.REDIS_URL:
            try:
                self._pubsub = _client().pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(CHANNEL)
            except redis.RedisError:
                self._pubsub = None
        self._seen = _local_serial

    def wait(self, timeout: float) -> bool:
        """Block until something was announced or `timeout` passed; True when woken."""
        if self._pubsub is not None:
            deadline = time.monotonic() + timeout
            try:
                # get_message returns None early for the subscription's own confirmation: keep waiting.
                while (left := deadline - time.monotonic()) > 0:
                    if self._pubsub.get_message(timeout=left) is not None:
                        return True
                return False
            except redis.RedisError:
                self._pubsub = None
        with _local:
            woken = _local.wait_for(lambda: _local_serial != self._seen, timeout=timeout)
            self._seen = _local_serial
        return woken

    def close(self) -> None:
        if self._pubsub is not None:
            self._pubsub.close()
