from datetime import UTC, datetime

import pytest
from django.urls import reverse

from happycrm.timestamps import local_timestamp
from messaging.models import Message, WebhookEvent
from messaging.tests.factories import MessageFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db

LATE_EVENING_UTC = datetime(2026, 1, 15, 23, 30, 5, tzinfo=UTC)  # already the next day in Istanbul (UTC+3)


@pytest.fixture(autouse=True)
def _istanbul(settings):
    settings.TIME_ZONE = "Europe/Istanbul"


def test_local_timestamp_is_in_the_configured_zone():
    assert local_timestamp(LATE_EVENING_UTC) == "2026-01-16 02:30"
    assert local_timestamp(LATE_EVENING_UTC, seconds=True) == "2026-01-16 02:30:05"
    assert local_timestamp(None) == ""


def test_admin_titles_of_messages_and_webhook_events_use_local_time(staff_client):
    message = MessageFactory(body="Merhaba")
    Message.objects.filter(pk=message.pk).update(created_at=LATE_EVENING_UTC)
    event = WebhookEventFactory(message_sid="SM" + "a" * 32)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=LATE_EVENING_UTC)
    message.refresh_from_db()
    event.refresh_from_db()

    assert "2026-01-16 02:30 Merhaba" in str(message)
    assert str(event) == f"{event.message_sid} @ 2026-01-16 02:30:05"
    for url in (
        reverse("admin:messaging_message_change", args=[message.pk]),
        reverse("admin:messaging_webhookevent_change", args=[event.pk]),
    ):
        page = staff_client.get(url).content.decode()
        assert "2026-01-16 02:30" in page
        assert "2026-01-15 23:30" not in page
