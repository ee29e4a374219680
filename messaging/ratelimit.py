"""Messages per second per sender, shared by every worker process through Redis.

Each send reserves the next free slot of its sender (slots are 1/MPS apart) and waits for
it, so a sender never goes above its rate however many workers send. The reservation is
one atomic Redis script on Redis's own clock; without Redis (the in-process mode) the same
arithmetic runs under a lock in this process.
"""

import threading
import time

import redis
from django.conf import settings

# Slots are spaced for 98% of the rate: a worker that wakes a few milliseconds late must not
# push a second over the limit as the provider counts it.
HEADROOM = 0.98

RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + interval, 'PX', math.floor((slot + interval - now) / 1000) + 1000)
return slot - now
"""


def sender_key(backend, channel: str) -> str:
    """One rate per provider's sender and channel (the backend names its sender and its rate)."""
    return f"happycrm:send-rate:{backend.provider}:{channel}:{backend.sender_id(channel)}"


class RateLimiter:
    def __init__(self):
        self._lock = threading.Lock()
        self._local_slots: dict[str, float] = {}
        self._client = None
        self._script = None

    def wait_for_slot(self, key: str, mps: float) -> float:
        """Block until this caller may send under `key`'s rate; returns the seconds waited."""
        interval = 1.0 / (mps * HEADROOM)
        delay = self._reserve_redis(key, interval) if settings.REDIS_URL else self._reserve_local(key, interval)
        if delay > 0:
            time.sleep(delay)
        return delay

    def _reserve_redis(self, key: str, interval: float) -> float:
        if self._client is None:
            self._client = redis.Redis.from_url(settings.REDIS_URL)
            self._script = self._client.register_script(RESERVE)
        return self._script(keys=[key], args=[int(interval * 1_000_000)]) / 1_000_000

    def _reserve_local(self, key: str, interval: float) -> float:
        with self._lock:
            now = time.monotonic()
            slot = max(self._local_slots.get(key, 0.0), now)
            self._local_slots[key] = slot + interval
        return slot - now


limiter = RateLimiter()
