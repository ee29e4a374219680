import multiprocessing
import time
import uuid

import pytest
from django.conf import settings

from messaging.backends.base import get_backend
from messaging.ratelimit import RateLimiter, sender_key

MPS = 20


def sends_per_window_hold(times: list[float], mps: int) -> bool:
    """Never more than `mps` sends within any second (100 ms allowed for a sleeper woken late on a busy machine)."""
    times = sorted(times)
    return all(times[i + mps] - times[i] >= 1.0 - 0.1 for i in range(len(times) - mps))


def test_local_limiter_spaces_sends(settings):
    settings.REDIS_URL = ""
    limiter, key, stamps = RateLimiter(), f"test:{uuid.uuid4().hex}", []
    for _ in range(30):
        limiter.wait_for_slot(key, MPS)
        stamps.append(time.monotonic())
    assert sends_per_window_hold(stamps, MPS)
    assert stamps[-1] - stamps[0] >= 29 / MPS - 0.02


def _send_in_child(key, count, queue):
    limiter = RateLimiter()  # a process of its own, with its own Redis connection
    stamps = []
    for _ in range(count):
        limiter.wait_for_slot(key, MPS)
        stamps.append(time.time())
    queue.put(stamps)


@pytest.mark.slow
@pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set (CI sets it)")
def test_rate_holds_across_two_worker_processes():
    key = f"happycrm:test-rate:{uuid.uuid4().hex}"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_send_in_child, args=(key, 20, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    stamps = queue.get(timeout=30) + queue.get(timeout=30)
    for worker in workers:
        worker.join(timeout=10)
    assert len(stamps) == 40
    assert sends_per_window_hold(stamps, MPS)
    assert max(stamps) - min(stamps) >= 39 / MPS - 0.05


def test_rates_and_keys_per_channel(settings):
    settings.TWILIO_WHATSAPP_MPS, settings.TWILIO_SMS_MPS = 80.0, 1.0
    settings.TWILIO_MESSAGING_SERVICE_SID, settings.TWILIO_PHONE_NUMBER = "", "+14155238886"
    backend = get_backend()
    assert (backend.send_rate("whatsapp"), backend.send_rate("sms")) == (80.0, 1.0)
    assert sender_key(backend, "whatsapp") != sender_key(backend, "sms")
    assert "+14155238886" in sender_key(backend, "sms")
