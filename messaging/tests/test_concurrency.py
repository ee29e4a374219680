"""Real concurrency needs a real database server: these run on PostgreSQL (CI), each thread its own connection."""

import threading
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from leads.models import Lead
from messaging.backends.twilio.tests.payloads import WEBHOOK_PATH, new_sid, sign, whatsapp_text
from messaging.models import Message, WebhookEvent
from messaging.services.webhooks import webhook_event_process
from notifications.models import Event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
    ),
]

THREADS = 10


def run_together(function, items):
    barrier = threading.Barrier(len(items))
    errors, results = [], []

    def work(item):
        try:
            barrier.wait(timeout=10)
            results.append(function(item))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def stored_event(payload):
    return WebhookEvent.objects.create(
        provider="twilio", kind=WebhookEvent.Kind.INBOUND, payload=payload, message_sid=payload["MessageSid"]
    )


def test_one_message_delivered_ten_times_at_once_is_stored_once():
    payload = whatsapp_text(sender="+905551234567")
    events = [stored_event(payload) for _ in range(THREADS)]

    run_together(lambda event: webhook_event_process(event_id=event.pk), events)

    assert Message.objects.count() == 1
    assert Lead.objects.count() == 1
    assert Lead.objects.get().unread_count == 1
    outcomes = sorted(WebhookEvent.objects.values_list("outcome", flat=True))
    assert outcomes == ["duplicate"] * (THREADS - 1) + ["stored"]
    # One new message for the screens, and the one lead its number made (for the outbound webhooks).
    assert sorted(Event.objects.values_list("type", flat=True)) == ["lead_created", "new_message"]


def test_first_messages_from_a_new_number_at_once_create_one_lead():
    events = [stored_event(whatsapp_text(sender="+905334445566", body=f"mesaj {n}")) for n in range(THREADS)]

    run_together(lambda event: webhook_event_process(event_id=event.pk), events)

    lead = Lead.objects.get()
    assert lead.phone == "+905334445566"
    assert Message.objects.filter(lead=lead).count() == THREADS
    assert lead.unread_count == THREADS


def test_concurrent_webhook_requests_end_to_end(settings):
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.TWILIO_VALIDATE_SIGNATURE = True
    settings.PUBLIC_BASE_URL = ""
    payload = whatsapp_text(sid=new_sid(), sender="+905551112233")
    body = urlencode(payload)
    signature = sign(f"http://testserver{WEBHOOK_PATH}", payload)

    def post(_):
        return (
            Client()
            .post(
                WEBHOOK_PATH, body, content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
            )
            .status_code
        )

    assert run_together(post, range(THREADS)) == [200] * THREADS
    assert WebhookEvent.objects.count() == THREADS
    assert Message.objects.count() == 1
    assert Lead.objects.get().unread_count == 1


def test_a_send_task_running_ten_times_at_once_calls_twilio_once(settings):
    from leads.tests.factories import LeadFactory
    from messaging.backends.twilio.tests.fake_server import FakeTwilio
    from messaging.models import MessageStatus
    from messaging.services.outbound import message_deliver

    with FakeTwilio() as fake:
        settings.MESSAGING_BACKEND = "messaging.backends.twilio.TwilioBackend"
        settings.TWILIO_API_BASE_URL = fake.base_url
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "test-auth-token"
        settings.TWILIO_PHONE_NUMBER = "+14155238886"
        message = Message.objects.create(lead=LeadFactory(), body="Merhaba", status=MessageStatus.QUEUED)

        results = run_together(lambda _: message_deliver(message_id=message.pk), range(THREADS))

    assert len(fake.requests) == 1
    assert sum(result is not None for result in results) == 1
    message.refresh_from_db()
    assert message.twilio_message_sid


def test_a_repeat_while_the_first_send_runs_is_409_and_the_message_goes_once(monkeypatch, user_in_role, outbox):
    """Two requests with one Idempotency-Key at once: the second is told to retry (409) while the first sends; a
    retry after it gets the first's answer. The message goes once."""
    import datetime

    from django.urls import reverse
    from django.utils import timezone

    from accounts.roles import AGENTS
    from accounts.services import api_token_create
    from leads.tests.factories import LeadFactory
    from messaging import api

    _, secret = api_token_create(user=user_in_role("agent", AGENTS), name="sync")
    lead = LeadFactory(phone="+905551234567", last_inbound_at=timezone.now() - datetime.timedelta(hours=1))
    url = reverse("api:v1:lead-messages", args=[lead.pk])
    entered, release = threading.Event(), threading.Event()
    real_send = api.message_send_any

    def slow_send(**kwargs):
        entered.set()
        release.wait(timeout=10)
        return real_send(**kwargs)

    monkeypatch.setattr(api, "message_send_any", slow_send)

    def post():
        return Client().post(
            url,
            {"body": "Merhaba"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
            HTTP_IDEMPOTENCY_KEY="once",
        )

    answers = {}

    def first():
        try:
            answers["first"] = post()
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert entered.wait(timeout=10)
        meanwhile = post()
    finally:
        release.set()
        thread.join(timeout=30)
    assert (meanwhile.status_code, meanwhile.json()["error"]["code"]) == (409, "idempotency_key_in_use")
    assert answers["first"].status_code == 201
    retried = post()
    assert (retried.status_code, retried["Idempotent-Replayed"]) == (201, "true")
    assert retried.json() == answers["first"].json()
    assert Message.objects.count() == 1 and len(outbox) == 1
