"""The real path with a broker: the request only stores, a Celery worker (over Redis) processes."""

from urllib.parse import urlencode

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import Client

from happycrm.celery import app
from happycrm.tests.broker import wait_until
from messaging.backends.twilio.tests.payloads import AUTH_TOKEN, WEBHOOK_PATH, sign, whatsapp_text
from messaging.models import Message, WebhookEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set (CI sets it)"),
]


def test_webhook_request_stores_and_a_worker_processes(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_VALIDATE_SIGNATURE = True
    settings.PUBLIC_BASE_URL = ""
    payload = whatsapp_text(body="Kuyruktan geldim")
    signature = sign(f"http://testserver{WEBHOOK_PATH}", payload)

    app.conf.task_always_eager = False
    try:
        response = Client().post(
            WEBHOOK_PATH, urlencode(payload), content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature,
        )  # fmt: skip
        assert response.status_code == 200
        assert WebhookEvent.objects.get().processed_at is None, "nothing is processed inside the request"
        assert not Message.objects.exists()

        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            assert wait_until(lambda: Message.objects.exists()), "the worker never stored the message"
    finally:
        app.conf.task_always_eager = True

    assert Message.objects.get().body == "Kuyruktan geldim"
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.STORED


def test_agent_replies_go_ahead_of_campaign_traffic(settings):
    from leads.tests.factories import LeadFactory
    from messaging.backends import locmem
    from messaging.models import MessageStatus
    from messaging.tasks import send_message, send_messages

    lead = LeadFactory()
    campaign = [Message.objects.create(lead=lead, body=f"kampanya {n}", status=MessageStatus.QUEUED) for n in range(30)]
    replies = [Message.objects.create(lead=lead, body=f"reply {n}", status=MessageStatus.QUEUED) for n in range(10)]
    locmem.outbox.clear()
    app.conf.task_always_eager = False
    try:
        for message in campaign:  # queued first, as a running campaign would have
            send_messages.apply_async(args=[[str(message.pk)]], queue=settings.CAMPAIGN_QUEUE)
        for reply in replies:
            send_message.delay(str(reply.pk))
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["celery", "campaigns"]
        ):
            assert wait_until(lambda: len(locmem.outbox) == 40), len(locmem.outbox)
    finally:
        app.conf.task_always_eager = True
    bodies = [message.body for message in locmem.outbox]
    # Every reply before the campaign, but for one campaign task the worker may already hold.
    assert sum(body.startswith("reply") for body in bodies[:11]) == 10, bodies[:12]
