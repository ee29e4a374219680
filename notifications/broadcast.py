"""Telling the stream processes what happened: one Redis pub/sub channel, or this process's hubs without Redis.

A message is JSON. `{"kind": "events", "ids": [...]}` says events were committed: each stream process reads them
from the database once and hands them to its open streams (notifications.hub). The ids only add the events that
committed after a newer one (a process reads everything after its cursor anyway), so a lost message only delays:
the hubs also look at the database every few seconds. `{"kind": "presence", ...}` is a transient signal (who has a
conversation open, who is typing: notifications.presence): it is handed to the open streams and never stored, so a
reconnecting page never sees it again.
"""

import contextlib
import json
import threading
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.db import transaction

CHANNEL = "happycrm:events"
MAX_IDS = 500  # a campaign's batch announces more: the hubs find those through their cursor

_redis = None
_receivers: set[Callable[[dict], None]] = set()  # this process's hubs when there is no Redis (called from any thread)
_receivers_lock = threading.Lock()


def announce(event_ids: Iterable[int]) -> None:
    """Tell the stream processes about these events once the current transaction has committed them."""
    ids = [pk for pk in event_ids if pk is not None]
    transaction.on_commit(lambda: publish({"kind": "events", "ids": ids if len(ids) <= MAX_IDS else []}))


def publish(message: dict) -> None:
    """To every stream process: through Redis when configured (a lost message only delays events), else in here."""
    if settings.REDIS_URL:
        with contextlib.suppress(redis.RedisError):
            _client().publish(CHANNEL, json.dumps(message))
        return
    with _receivers_lock:
        receivers = list(_receivers)
    for receiver in receivers:
        receiver(message)


def receiver_add(receiver: Callable[[dict], None]) -> None:
    with _receivers_lock:
        _receivers.add(receiver)


def receiver_remove(receiver: Callable[[dict], None]) -> None:
    with _receivers_lock:
        _receivers.discard(receiver)


def _client() -> redis.Redis:
    global _redis
    if _redis is None:
        # A Redis that hangs must not hold the request that stored the event.
        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    return _redis
