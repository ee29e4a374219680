"""The stream process's fan-out: one subscription, each new event read once, handed to every open stream.

One `Hub` per event loop (one per stream process). It listens on the broadcast channel (Redis pub/sub, or this
process's announcements without Redis), reads the announced events from the database once, renders each once and
puts them on the queue of every open stream they are for (`Event.user_ids`), one batch per stream per read. Open
streams only wait on their queue: no thread, no database connection. A stream reads the database itself only
when it (re)connects, to catch up after its Last-Event-ID. Presence signals (who has a conversation open, who is
typing: notifications.presence) go straight from the channel to the streams, never stored.

It also knows who has a stream open here (`presence()`).
"""

import asyncio
import collections
import contextlib
import json
import logging
import threading

import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.db.models import Q

from . import broadcast
from .models import Event

logger = logging.getLogger(__name__)

PAGE = 200
REDIS_POLL_SECONDS = 15.0  # with Redis a lost message only delays an event this long
LOCAL_POLL_SECONDS = 2.0  # without Redis another process (a command, a worker) cannot signal: look this often
MAX_BACKLOG = 1000  # a stream this far behind (a stalled client) is closed; its page reconnects and catches up
RECENT = 10_000  # ids already handed out, so an event announced twice (or read by cursor and by id) goes once


def connection_release() -> None:
    """Give this thread's database connection back (to the pool) so nothing is held while streams wait. Inside a
    test's transaction it stays: closing would end the test's transaction."""
    if not connection.in_atomic_block:
        connection.close()


def _events_read(cursor: int, ids: list[int]) -> list[Event]:
    """The events after the hub's cursor, and those announced below it (committed after a newer one)."""
    try:
        condition = Q(pk__gt=cursor) | Q(pk__in=ids) if ids else Q(pk__gt=cursor)
        return list(Event.objects.filter(condition).order_by("pk")[: PAGE + len(ids)])
    finally:
        connection_release()


def _events_cursor() -> int:
    try:
        return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    finally:
        connection_release()


def sse(*, event_type: str, data: dict) -> str:
    return f"event: {event_type}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Stream:
    """One open stream's side of the hub: what is waiting to be sent to it, in batches of (event id, frame); a
    transient signal's id is None."""

    def __init__(self, user_id):
        self.user_id = user_id
        self.queue: asyncio.Queue = asyncio.Queue()
        self.closed = False

    def put(self, item: list[tuple[int | None, str]]) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= MAX_BACKLOG:
            self.close()
            return
        self.queue.put_nowait(item)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.streams: set[Stream] = set()
        self.cursor = 0
        self.reads = 0  # database reads of new events (the tests and the benchmark count them)
        self.ready = asyncio.Event()  # subscribed and the cursor read: nothing announced from now on is missed
        self._wake = asyncio.Event()
        self._pending: set[int] = set()
        self._recent: collections.deque[int] = collections.deque(maxlen=RECENT)
        self._recent_set: set[int] = set()
        self._users: collections.Counter = collections.Counter()
        self._users_lock = threading.Lock()
        self._redis = None
        self._tasks: list[asyncio.Task] = []
        self._stale = False  # announcements were dropped while no stream was open: the cursor is behind
        self._fresh_lock = asyncio.Lock()

    def start(self) -> None:
        self._tasks = [self.loop.create_task(self._run())]

    async def stop(self) -> None:
        for stream in list(self.streams):
            stream.close()
        broadcast.receiver_remove(self._receive_threadsafe)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()

    # Streams

    def add(self, user_id) -> Stream:
        stream = Stream(user_id)
        self.streams.add(stream)
        with self._users_lock:
            self._users[user_id] += 1
        return stream

    def remove(self, stream: Stream) -> None:
        if stream in self.streams:
            self.streams.discard(stream)
            with self._users_lock:
                self._users[stream.user_id] -= 1
                if self._users[stream.user_id] <= 0:
                    del self._users[stream.user_id]

    def presence(self) -> dict:
        """User id → how many streams that user has open in this process (read from any thread)."""
        with self._users_lock:
            return dict(self._users)

    # The channel

    def receive(self, message: dict) -> None:
        kind = message.get("kind")
        if kind == "events":
            self._pending.update(pk for pk in message.get("ids", ()) if isinstance(pk, int))
            self._wake.set()
        elif kind == "presence":  # an agent opened, left or is typing in a conversation: the others' pages
            fields = ("lead_id", "user_id", "name", "state")
            body = sse(event_type="presence", data={"type": "presence", **{key: message.get(key) for key in fields}})
            for stream in list(self.streams):
                if stream.user_id != message.get("user_id"):
                    stream.put([(None, body)])

    def _receive_threadsafe(self, message: dict) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed
            self.loop.call_soon_threadsafe(self.receive, message)

    async def _run(self) -> None:
        if settings.REDIS_URL:
            subscribed = asyncio.Event()
            self._tasks.append(self.loop.create_task(self._listen(subscribed)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscribed.wait(), timeout=5)  # Redis down: the poll delivers meanwhile
            poll = REDIS_POLL_SECONDS
        else:
            broadcast.receiver_add(self._receive_threadsafe)
            poll = LOCAL_POLL_SECONDS
        while True:
            try:
                self.cursor = await sync_to_async(_events_cursor, thread_sensitive=False)()
                break
            except Exception:
                logger.exception("stream hub: the database cannot be read; trying again")
                await asyncio.sleep(1)
        self.ready.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll)
            self._wake.clear()
            if not self.streams:
                # Nobody listens here: no read. The next stream to open moves the cursor to now (`fresh`) and
                # catches up itself.
                self._stale = self._stale or bool(self._pending)
                self._pending.clear()
                continue
            try:
                await self._fan_out()
            except Exception:
                logger.exception("stream hub: reading new events failed; trying again")
                await asyncio.sleep(1)
                self._wake.set()

    async def _listen(self, subscribed: asyncio.Event) -> None:
        self._redis = redis.asyncio.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(broadcast.CHANNEL)
                subscribed.set()
                self._wake.set()  # whatever was announced while not subscribed
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    with contextlib.suppress(ValueError, TypeError, AttributeError):
                        self.receive(json.loads(message["data"]))
            except (redis.RedisError, OSError):
                logger.warning("stream hub: Redis subscription lost; subscribing again")
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _fan_out(self) -> None:
        ids = sorted(pk for pk in self._pending if pk <= self.cursor and pk not in self._recent_set)
        self._pending.clear()
        events = await sync_to_async(_events_read, thread_sensitive=False)(self.cursor, ids)
        self.reads += 1
        newer = [event for event in events if event.pk > self.cursor]
        fresh = []
        for event in events:
            if event.pk not in self._recent_set:
                self._remember(event.pk)
                fresh.append(event)
        self._deliver(fresh)
        if newer:
            self.cursor = newer[-1].pk
        if len(newer) >= PAGE:
            self._wake.set()  # a page more

    async def fresh(self) -> None:
        """Before the first stream after a quiet spell: the cursor to now, so what it missed is not read again."""
        async with self._fresh_lock:
            if self._stale and not self.streams:
                self.cursor = max(self.cursor, await sync_to_async(_events_cursor, thread_sensitive=False)())
                self._stale = False

    def _remember(self, pk: int) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(pk)
        self._recent_set.add(pk)

    def _deliver(self, events: list[Event]) -> None:
        """Each event rendered once; each open stream gets one batch with those that are for it, in id order."""
        everyone, targeted = [], {}
        for event in events:
            frame = (event.pk, sse(event_type=event.type, data={"type": event.type, **event.payload}))
            if event.user_ids:
                targeted[event.pk] = (frame, set(event.user_ids))
            else:
                everyone.append(frame)
        for stream in list(self.streams):
            batch = everyone
            if targeted:
                mine = [frame for frame, users in targeted.values() if stream.user_id in users]
                batch = sorted(everyone + mine) if mine else everyone
            if batch:
                stream.put(batch)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


async def hub_ready() -> Hub:
    """This event loop's hub, started on first use and ready (subscribed, its cursor read)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
        hub.start()
    await hub.ready.wait()
    await hub.fresh()
    return hub


async def hubs_stop() -> None:
    """At the server's shutdown: open streams end (their pages reconnect elsewhere), the subscription closes."""
    loop = asyncio.get_running_loop()
    hub = _hubs.pop(loop, None)
    if hub is not None:
        await hub.stop()


def presence() -> dict:
    """Who has a stream open in this process: user id → open streams."""
    total: collections.Counter = collections.Counter()
    for hub in list(_hubs.values()):
        total.update(hub.presence())
    return dict(total)
