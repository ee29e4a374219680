import threading
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache

from happycrm.celery import app

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set (CI sets it)")

delivered = {}
arrived = threading.Event()


@app.task(name="happycrm.tests.record")
def record(token):
    delivered["token"] = token
    arrived.set()


def test_celery_reads_django_settings():
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.task_always_eager is True
    assert app.main == "happycrm"


@needs_redis
@pytest.mark.slow
def test_a_task_travels_through_redis_to_a_real_worker():
    assert app.conf.broker_url.startswith("redis://")
    token = uuid.uuid4().hex
    arrived.clear()
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            record.delay(token)
            assert arrived.wait(timeout=20), "the worker never received the task"
    finally:
        app.conf.task_always_eager = True
    assert delivered["token"] == token


@needs_redis
def test_cache_is_redis():
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    key = f"happycrm-test-{uuid.uuid4().hex}"
    cache.set(key, "merhaba", timeout=30)
    assert cache.get(key) == "merhaba"
    cache.delete(key)


def test_every_scheduled_task_is_one_the_workers_know():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled - set(app.tasks) == set()
    assert {"campaigns.start_due_campaigns", "campaigns.resume_lost_campaigns"} <= scheduled
