"""A second provider is a package plus a setting: Parrot (in the tests) receives and sends SMS through the same
services while WhatsApp stays on the default backend."""

import importlib
import json

import pytest
from django.urls import clear_url_caches

from leads.models import Lead
from messaging.models import Message, MessageStatus, WebhookEvent
from messaging.selectors import message_error_explanation
from messaging.services.outbound import message_send
from messaging.services.webhooks import webhook_events_reprocess
from messaging.tests import parrot

pytestmark = pytest.mark.django_db


def reload_urls():
    import happycrm.urls
    import messaging.urls

    importlib.reload(messaging.urls)
    importlib.reload(happycrm.urls)
    clear_url_caches()


@pytest.fixture
def sms_through_parrot(settings, outbox):
    settings.MESSAGING_CHANNEL_BACKENDS = {"sms": "messaging.tests.parrot.ParrotBackend"}
    parrot.outbox.clear()
    parrot.refusals.clear()
    reload_urls()  # the URLs as they are read at start with this setting
    yield parrot.outbox
    settings.MESSAGING_CHANNEL_BACKENDS = {}
    reload_urls()


@pytest.fixture
def post_parrot(client, django_capture_on_commit_callbacks):
    def post(payload, *, signature=None):
        body = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/api/parrot/webhook",
                body,
                content_type="application/json",
                HTTP_X_PARROT_SIGNATURE=signature if signature is not None else parrot.sign(body),
            )

    return post


def test_a_lead_writes_by_parrot_and_is_answered_through_it(
    sms_through_parrot, post_parrot, outbox, django_capture_on_commit_callbacks
):
    assert (
        post_parrot({"type": "message", "id": "PR-in-1", "from": "0555 123 45 67", "text": "Fiyat?"}).status_code == 200
    )
    event = WebhookEvent.objects.get()
    assert (event.provider, event.kind, event.message_sid, event.outcome) == ("parrot", "inbound", "PR-in-1", "stored")
    inbound = Message.objects.get()
    assert (inbound.provider, inbound.channel, inbound.body) == ("parrot", "sms", "Fiyat?")
    lead = inbound.lead
    assert lead.phone == "+905551234567" and lead.unread_count == 1

    with django_capture_on_commit_callbacks(execute=True):
        reply = message_send(lead=lead, body="Merhaba, fiyat listemiz ekte.")  # the lead's channel: SMS: Parrot
    assert [(m.to, m.channel, m.body) for m in sms_through_parrot] == [("+905551234567", "sms", reply.body)]
    assert outbox == []  # the default backend sent nothing
    reply.refresh_from_db()
    assert reply.provider == "parrot" and reply.twilio_message_sid.startswith("PR")

    for state in ("handed", "arrived", "seen"):
        post_parrot({"type": "receipt", "id": reply.twilio_message_sid, "state": state})
    reply.refresh_from_db()
    assert reply.status == MessageStatus.READ


def test_whatsapp_stays_on_the_default_backend(sms_through_parrot, outbox, django_capture_on_commit_callbacks):
    from messaging.tests.test_outbound import lead_in_window

    with django_capture_on_commit_callbacks(execute=True):
        message_send(lead=lead_in_window(), body="WhatsApp'tan merhaba", channel="whatsapp")
    assert [m.channel for m in outbox] == ["whatsapp"] and sms_through_parrot == []


def test_parrot_limits_explanations_and_opt_out_apply(
    sms_through_parrot, post_parrot, django_capture_on_commit_callbacks
):
    from messaging.services.outbound import SendRefused

    post_parrot({"type": "message", "id": "PR-in-2", "from": "+905551234567", "text": "selam"})
    lead = Lead.objects.get()
    with pytest.raises(SendRefused, match="at most 160"):
        message_send(lead=lead, body="x" * 161)

    parrot.refusals.append(parrot.BLOCKED)
    with django_capture_on_commit_callbacks(execute=True):
        failed = message_send(lead=lead, body="Merhaba")
    failed.refresh_from_db()
    assert (failed.status, failed.error_code) == ("failed", parrot.BLOCKED)
    assert message_error_explanation(failed) == "The recipient blocked this sender at Parrot."
    lead.refresh_from_db()
    assert lead.opted_out_at is not None

    post_parrot({"type": "message", "id": "PR-in-3", "from": "+905551234567", "text": "resume"})
    lead.refresh_from_db()
    assert lead.opted_out_at is None  # Parrot's own keyword, read by Parrot's parser


def test_a_forged_or_unreadable_parrot_event_is_refused_or_rejected(sms_through_parrot, post_parrot):
    assert post_parrot({"type": "message", "id": "x"}, signature="forged").status_code == 403
    post_parrot({"type": "message", "from": "+905551234567", "text": "no id"})
    event = WebhookEvent.objects.get()
    assert (event.outcome, event.last_error) == ("rejected", "Parrot sent no id.")
    counts = webhook_events_reprocess(event_ids=[event.pk], retry_rejected=True)  # with Parrot's parser again
    assert counts["rejected"] == 1
