"""The Redis cache keeps one client per server instead of building one for every call."""

import pytest
import redis
from django.conf import settings

from happycrm.cache import RedisCache


@pytest.fixture
def redis_cache():
    cache = RedisCache(settings.REDIS_URL or "redis://127.0.0.1:6379/0", {"KEY_PREFIX": "test-kept-client"})
    yield cache
    cache.close()


def test_every_call_gets_the_same_client_of_its_pool(redis_cache, monkeypatch):
    built = []
    real = redis.Redis.__init__
    monkeypatch.setattr(redis.Redis, "__init__", lambda self, *a, **kw: built.append(1) or real(self, *a, **kw))
    client = redis_cache._cache.get_client(write=True)
    assert redis_cache._cache.get_client() is client
    assert redis_cache._cache.get_client("a key", write=True) is client
    assert len(built) == 1


@pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set (CI sets it)")
def test_it_still_reads_and_writes_through_the_kept_client(redis_cache):
    redis_cache.set("answer", {"value": 42}, 30)
    assert redis_cache.get("answer") == {"value": 42}
    assert redis_cache.add("answer-count", 0, 30)
    assert redis_cache.incr("answer-count") == 1
    redis_cache.delete_many(["answer", "answer-count"])
    assert redis_cache.get("answer") is None
