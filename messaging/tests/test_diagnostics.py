"""Webhook diagnostics answer with what they can when Redis (the cache) is down, and say so."""

import datetime
import socket
import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.models import Message, MessageStatus, WebhookEvent
from messaging.selectors import SIGNATURE_REJECTIONS_KEY
from messaging.services.webhooks import signature_rejection_record

pytestmark = pytest.mark.django_db

DIAGNOSTICS = reverse("api:webhook-diagnostics")


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens there


def test_diagnostics_with_redis_down_report_the_rest_and_say_why(staff_client, settings):
    WebhookEvent.objects.create(
        provider="twilio", kind=WebhookEvent.Kind.INBOUND, payload={"MessageSid": "SM1"}, message_sid="SM1"
    )
    Message.objects.create(lead=LeadFactory(), body="kuyrukta", status=MessageStatus.QUEUED)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{dead_port()}/0",
        }
    }
    started = time.monotonic()
    response = staff_client.get(DIAGNOSTICS)
    assert response.status_code == 200
    assert time.monotonic() - started < 10
    data = response.json()
    assert data["redis"]["configured"] is True
    assert data["redis"]["reachable"] is False
    assert "Connection refused" in data["redis"]["error"]
    assert data["signature_rejections"] == {"today": None, "last_7_days": None}
    assert data["events"]["total"] == data["events"]["pending"] == 1
    assert data["sends"] == {"not_handed_off": 1, "in_queue": 0, "overdue": 0}


def test_diagnostics_with_the_cache_up_count_rejections(staff_client):
    today = timezone.localdate()
    cache.delete_many([SIGNATURE_REJECTIONS_KEY.format(day=today - datetime.timedelta(days=n)) for n in range(7)])
    signature_rejection_record()
    signature_rejection_record()
    data = staff_client.get(DIAGNOSTICS).json()
    assert data["redis"]["reachable"] is True and data["redis"]["error"] is None
    assert data["signature_rejections"] == {"today": 2, "last_7_days": 2}
