import threading

import pytest
from django.db import connection
from django.test import Client

from messaging.services.events import event_new_message, event_status_update
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from notifications import broadcast
from notifications.models import Event
from notifications.views import event_stream

URL = "/events/stream"


@pytest.mark.django_db
def test_the_stream_needs_a_login():
    assert Client().get(URL).status_code == 302


@pytest.mark.django_db
def test_a_reconnecting_screen_gets_what_it_missed(staff_client):
    message = InboundMessageFactory(body="kaçırdığın mesaj")
    first = event_new_message(message=message)
    second = event_status_update(message=MessageFactory(status="delivered"))
    response = staff_client.get(URL, HTTP_LAST_EVENT_ID=str(first.pk - 1))
    assert response["Content-Type"] == "text/event-stream"
    chunks = iter(response.streaming_content)
    assert next(chunks).decode().startswith("retry: 2000")
    one, two = next(chunks).decode(), next(chunks).decode()
    response.close()
    assert one.startswith(f"id: {first.pk}\nevent: new_message\n") and "kaçırdığın mesaj" in one
    assert two.startswith(f"id: {second.pk}\nevent: status_update\n") and '"status": "delivered"' in two


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_new_event_wakes_an_open_stream_at_once(monkeypatch):
    monkeypatch.setattr(broadcast, "LOCAL_POLL_SECONDS", 60.0)  # so only the wake-up can deliver it in time
    monkeypatch.setattr(broadcast, "REDIS_POLL_SECONDS", 60.0)
    message = InboundMessageFactory(body="canlı")
    cursor = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    stream = event_stream(cursor, seconds=30)
    assert next(stream).startswith("retry:")

    def fire():
        try:
            event_new_message(message=message)
        finally:
            connection.close()  # this thread's own connection

    timer = threading.Timer(0.3, fire)
    timer.start()
    chunk = next(stream)  # a keepalive here (after 15 s) would mean the stream was not woken
    stream.close()
    timer.join()
    assert "event: new_message" in chunk and "canlı" in chunk


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["²", "99999999999999999999999"])
def test_a_resume_point_that_is_not_an_event_id_starts_from_now(staff_client, cursor):
    InboundMessageFactory(body="eski")
    event_new_message(message=InboundMessageFactory(body="eski"))
    response = staff_client.get(URL, HTTP_LAST_EVENT_ID=cursor)
    assert response.status_code == 200
    first = next(iter(response.streaming_content)).decode()
    assert first == f"retry: 2000\nid: {Event.objects.order_by('-pk').first().pk}\n\n"
    response.close()
