import datetime
import json
import time

import pytest
from django.utils import timezone, translation

from leads.tests.factories import LeadFactory
from messaging.backends.twilio import client as twilio_backend
from messaging.backends.twilio.tests.payloads import ACCOUNT_SID
from messaging.models import Message, MessageStatus
from messaging.selectors import message_error_explanation
from messaging.services.messages import lead_activity_refresh
from messaging.services.outbound import (
    SendRefused,
    message_deliver,
    message_resend,
    message_send,
    message_send_any,
    message_send_template,
)
from messaging.tests.factories import InboundMessageFactory
from templates_app.models import Template
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

OUR_NUMBER = "+14155238886"


def lead_in_window(**kwargs):
    lead = LeadFactory(phone="+905551234567", name="Ayşe Yılmaz", **kwargs)
    InboundMessageFactory(lead=lead, channel=kwargs.pop("channel", "whatsapp"))
    lead.last_inbound_at = timezone.now() - datetime.timedelta(hours=1)
    lead.save()
    return lead


def test_free_form_whatsapp_reply(twilio):
    lead = lead_in_window()
    with twilio.commit():
        message = message_send(lead=lead, body="Merhaba Ayşe Hanım, teklifimiz ekte.")
    assert twilio.requests[0]["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert twilio.forms == [
        {
            "To": "whatsapp:+905551234567",
            "From": f"whatsapp:{OUR_NUMBER}",
            "Body": "Merhaba Ayşe Hanım, teklifimiz ekte.",
            "StatusCallback": "https://crm.example.com/api/twilio/webhook",
        }
    ]
    message.refresh_from_db()
    assert message.twilio_message_sid.startswith("SM")
    assert (message.status, message.is_from_lead, message.channel) == ("queued", False, "whatsapp")
    lead.refresh_from_db()
    assert lead.first_message_answered


def test_sms_when_the_lead_writes_by_sms(twilio):
    lead = lead_in_window()
    InboundMessageFactory(lead=lead, channel="sms")
    with twilio.commit():
        message_send(lead=lead, body="SMS ile yanıt")
    form = twilio.forms[0]
    assert (form["To"], form["From"]) == ("+905551234567", OUR_NUMBER)


def test_messaging_service_replaces_the_from_number(twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "5" * 32
    with twilio.commit():
        message_send(lead=lead_in_window(), body="Merhaba")
    assert twilio.forms[0]["MessagingServiceSid"] == "MG" + "5" * 32
    assert "From" not in twilio.forms[0]


def test_template_fills_every_placeholder_and_sends_content_variables(twilio, settings):
    settings.LANGUAGE_CODE = "tr"
    lead = LeadFactory(
        phone="+905551234567", name="Ayşe", event_date=datetime.date(2026, 12, 5), event_time=datetime.time(19, 30)
    )
    template = TemplateFactory(content="Merhaba {{1}}! {{2}} saat {{3}}. Görüşmek üzere {{1}}, kod: {{4}}")
    with twilio.commit(), translation.override("en"):
        message = message_send_template(lead=lead, template=template, parameters=["A-42"])
    form = twilio.forms[0]
    assert form["ContentSid"] == template.content_sid
    assert json.loads(form["ContentVariables"]) == {"1": "Ayşe", "2": "05.12.2026", "3": "19:30", "4": "A-42"}
    assert "Body" not in form
    message.refresh_from_db()
    assert message.body == "Merhaba Ayşe! 05.12.2026 saat 19:30. Görüşmek üzere Ayşe, kod: A-42"
    assert (message.template, message.template_name) == (template, template.name)


def test_refusals_call_nobody_and_store_nothing(twilio):
    lead = LeadFactory(phone="+905551234567", event_date=None)
    approved = TemplateFactory(content="Merhaba {{1}}, {{2}}")
    cases = [
        (lambda: message_send(lead=lead, body="Merhaba"), "window_closed"),
        (lambda: message_send(lead=lead, body="   "), "empty"),
        (lambda: message_send_template(lead=lead, template=approved), "missing_value"),
        (lambda: message_send_template(lead=lead, template=TemplateFactory(status="inactive")), "inactive"),
        (
            lambda: message_send_template(lead=lead, template=TemplateFactory(approval_status="pending")),
            "not_approved",
        ),
        (lambda: message_send(lead=LeadFactory(phone=None), body="Merhaba", channel="sms"), "no_phone"),
        (
            lambda: message_send(lead=LeadFactory(opted_out_at=timezone.now()), body="Merhaba", channel="sms"),
            "opted_out",
        ),
        (lambda: message_send(lead=lead, body="Merhaba", channel="telegram"), "channel"),
    ]
    for send, code in cases:
        with pytest.raises(SendRefused) as excinfo, twilio.commit():
            send()
        assert excinfo.value.code == code
        assert excinfo.value.message
    assert twilio.requests == []
    assert not Message.objects.filter(is_from_lead=False).exists()


def test_a_missing_value_refuses_the_send_naming_the_placeholder():
    """The rendering's refusal, as the page and the API answer it: the same words, the code `missing_value`."""
    lead = LeadFactory(name="Ayşe", event_date=None)
    with pytest.raises(SendRefused) as refused:
        message_send_template(lead=lead, template=TemplateFactory(content="Merhaba {{1}} {{2}}"))
    assert (refused.value.message, refused.value.code) == (
        "The template needs a value for {{2}} (the event date).",
        "missing_value",
    )


def test_template_allowed_outside_the_window_free_form_not(twilio):
    lead = LeadFactory(phone="+905551234567", event_date=datetime.date(2026, 12, 5))
    with twilio.commit():
        message_send_template(lead=lead, template=TemplateFactory(content="Merhaba {{1}}"))
    assert len(twilio.requests) == 1
    with pytest.raises(SendRefused, match="24 hours"):
        message_send(lead=lead, body="serbest mesaj")


def test_refusal_is_translated(twilio):
    lead = LeadFactory(phone="+905551234567")
    with translation.override("tr"), pytest.raises(SendRefused, match="24 saat"):
        message_send(lead=lead, body="Merhaba")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (63016, "24 hours"),
        (21654, "without a template"),
        (21656, "invalid"),
        (20404, "could not find"),
        (21211, "not a valid number"),
        (21408, "country"),
        (63024, "not a valid WhatsApp user"),
        (30003, "unreachable"),
        (30004, "blocked"),
        (30005, "unknown or no longer exists"),
        (30006, "landline"),
        (30007, "spam"),
        (30008, "unknown reason"),
    ],
)
def test_twilio_refusals_fail_the_message_with_an_explanation(twilio, code, words):
    twilio.replies.append(("error", 400, code, f"Twilio says {code}"))
    with twilio.commit():
        message = message_send(lead=lead_in_window(), body="Merhaba")
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_message) == ("failed", code, f"Twilio says {code}")
    with translation.override("en"):
        assert words in message_error_explanation(message)
    assert len(twilio.requests) == 1


def test_21610_marks_the_lead_opted_out(twilio):
    lead = lead_in_window()
    twilio.replies.append(("error", 400, 21610, "Attempt to send to unsubscribed recipient"))
    with twilio.commit():
        message_send(lead=lead, body="Merhaba")
    lead.refresh_from_db()
    assert lead.opted_out_at is not None


def test_unknown_codes_keep_twilios_text(twilio):
    twilio.replies.append(("error", 400, 12345, "Something new went wrong"))
    with twilio.commit():
        message = message_send(lead=lead_in_window(), body="Merhaba")
    message.refresh_from_db()
    assert message_error_explanation(message) == "Something new went wrong"


@pytest.mark.parametrize(
    "reply",
    [
        ("error", 429, 20429, "Too Many Requests"),
        ("error", 400, 63018, "Rate limit exceeded"),
        ("error", 503, 20500, "Service Unavailable"),
    ],
)
def test_retryable_errors_release_the_message_for_a_retry(twilio, reply):
    twilio.replies.append(reply)
    lead = lead_in_window()
    with twilio.commit():
        message = Message.objects.create(lead=lead, body="Merhaba", status=MessageStatus.QUEUED)
    from messaging.backends.base import RetryableSendError

    with pytest.raises(RetryableSendError):
        message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.send_claimed_at, message.twilio_message_sid) == ("queued", None, None)

    message_deliver(message_id=message.pk)  # what the task's retry does
    message.refresh_from_db()
    assert message.twilio_message_sid and message.status == "queued"
    assert len(twilio.requests) == 2


def test_connection_refused_is_retryable(twilio, settings):
    from messaging.backends.base import RetryableSendError

    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    message = Message.objects.create(lead=lead_in_window(), body="Merhaba", status=MessageStatus.QUEUED)
    with pytest.raises(RetryableSendError, match="Could not connect"):
        message_deliver(message_id=message.pk)


def test_eager_task_fails_a_message_twilio_keeps_refusing(twilio):
    twilio.replies.append(("error", 503, 20500, "Service Unavailable"))
    with twilio.commit():
        message = message_send(lead=lead_in_window(), body="Merhaba")
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", 20500)


def test_a_timeout_is_not_resent_blindly(twilio, monkeypatch):
    monkeypatch.setattr(twilio_backend, "HTTP_TIMEOUT", 0.3)
    twilio.replies.append(("sleep", 1.0))
    with twilio.commit():
        message = message_send(lead=lead_in_window(), body="Merhaba")
    message.refresh_from_db()
    assert message.needs_attention and message.status == "queued" and message.twilio_message_sid is None
    assert message_deliver(message_id=message.pk) is None, "the claim stays: nobody resends it on their own"
    assert len(twilio.requests) == 1

    with twilio.commit():
        message_resend(message=message)
    message.refresh_from_db()
    assert not message.needs_attention and message.twilio_message_sid
    assert len(twilio.requests) == 2


def test_a_task_that_runs_twice_calls_twilio_once(twilio):
    with twilio.commit():
        message = Message.objects.create(lead=lead_in_window(), body="Merhaba", status=MessageStatus.QUEUED)
    first = message_deliver(message_id=message.pk)
    second = message_deliver(message_id=message.pk)
    assert first is not None and second is None
    assert len(twilio.requests) == 1


def test_resend_refuses_a_message_that_did_not_fail(twilio):
    with twilio.commit():
        message = message_send(lead=lead_in_window(), body="Merhaba")
    message.refresh_from_db()
    with pytest.raises(SendRefused):
        message_resend(message=message)


def test_inactive_and_unapproved_templates_are_known():
    assert Template.Status.INACTIVE == "inactive"


def test_sends_wait_for_the_senders_rate(twilio, settings):
    settings.REDIS_URL = ""
    settings.TWILIO_WHATSAPP_MPS = 20.0
    lead = lead_in_window()
    messages = [Message.objects.create(lead=lead, body=f"{n}", status=MessageStatus.QUEUED) for n in range(6)]
    started = time.monotonic()
    for message in messages:
        message_deliver(message_id=message.pk)
    assert time.monotonic() - started >= 5 / 20 - 0.02
    assert len(twilio.requests) == 6


def test_a_send_whose_worker_died_is_marked_for_attention(twilio):
    from messaging.services.outbound import messages_mark_stuck

    lead = lead_in_window()
    stuck = Message.objects.create(
        lead=lead, body="x", status=MessageStatus.QUEUED, send_claimed_at=timezone.now() - datetime.timedelta(hours=1)
    )
    fresh = Message.objects.create(lead=lead, body="y", status=MessageStatus.QUEUED, send_claimed_at=timezone.now())
    assert messages_mark_stuck() == 1
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.needs_attention and not fresh.needs_attention


def test_what_a_message_may_say_is_the_send_services_rule(settings):
    """No NUL (PostgreSQL stores none, no channel delivers one) and no more than the backend's limit, for a
    text, a caption and a rendered template alike; the refusals store nothing."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from messaging.services.outbound import message_send_media

    lead = lead_in_window(event_date=datetime.date(2026, 12, 5))
    png = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")
    long_template = TemplateFactory(content="x" * 1590 + " {{1}}")  # 1591 + the lead's name (11) = 1602
    cases = [
        (lambda: message_send(lead=lead, body="Merha\x00ba"), "nul"),
        (lambda: message_send(lead=lead, body="x" * 1601), "too_long"),
        (lambda: message_send_media(lead=lead, upload=png, caption="a\x00"), "nul"),
        (lambda: message_send_media(lead=lead, upload=png, caption="x" * 1601), "too_long"),
        (lambda: message_send_template(lead=lead, template=TemplateFactory(), parameters=["", "", "", "K\x00"]), "nul"),
        (lambda: message_send_template(lead=lead, template=long_template), "too_long"),
    ]
    for send, code in cases:
        with pytest.raises(SendRefused) as excinfo:
            send()
        assert excinfo.value.code == code
    assert not Message.objects.filter(is_from_lead=False).exists()
    with pytest.raises(SendRefused, match=r"The message is 1602 characters long; at most 1600 can be sent\."):
        message_send_template(lead=lead, template=long_template)
    assert message_send(lead=lead, body="x" * 1600).body == "x" * 1600
    # A browser posts each line break as CRLF; the composer's counter counts one character, and so does the rule.
    assert message_send(lead=lead, body="x\r\n" * 800).body == "x\n" * 799 + "x"


def test_the_length_limit_is_the_backends(monkeypatch, staff_client):
    from django.urls import reverse

    from messaging.backends.locmem import LocmemBackend

    lead = lead_activity_refresh(lead=lead_in_window())  # its unread count right, as opening it reads it
    page = staff_client.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert 'data-max-length="1600"' in page
    monkeypatch.setattr(LocmemBackend, "max_body_length", 10)
    assert 'data-max-length="10"' in staff_client.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    with pytest.raises(SendRefused, match="at most 10 can be sent"):
        message_send(lead=lead, body="x" * 11)
    response = staff_client.post(reverse("api:lead-send", args=[lead.pk]), {"body": "x" * 11})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "too_long",
        "message": "The message is 11 characters long; at most 10 can be sent.",
        "fields": {},
    }


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"body": "Merha\x00ba"}, "The message contains a NUL character, which cannot be sent."),
        ({"body": "x" * 1601}, "The message is 1601 characters long; at most 1600 can be sent."),
        (
            {"send-template": "1", "param-4": "K\x00"},
            "A template value contains a NUL character, which cannot be sent.",
        ),
    ],
)
def test_the_inbox_page_refuses_what_the_service_refuses(staff_client, form, reason):
    from django.urls import reverse

    lead = lead_activity_refresh(lead=lead_in_window())
    template = TemplateFactory(content="Merhaba {{1}}, kodunuz {{4}}")
    url = reverse("inbox:send", args=[lead.pk])
    form = {**form, "template": str(template.pk)} if "send-template" in form else form
    response = staff_client.post(url, form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#composer-error"
    assert response.content.decode() == reason
    page = staff_client.post(url, form, follow=True).content.decode()
    assert reason in page
    assert not Message.objects.filter(is_from_lead=False).exists()


def test_bulk_messages_are_stored_at_once_and_handed_off_in_batches_once_committed(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    from messaging.services import outbound

    leads = [LeadFactory(name=f"Toplu {n}") for n in range(3)]
    template = TemplateFactory(content="Merhaba {{1}}")
    built = [outbound.template_message_build(lead=lead, template=template) for lead in leads]
    handed = []
    monkeypatch.setattr(outbound, "BULK_SEND_BATCH", 2)
    monkeypatch.setattr(outbound, "send", lambda task, *args, queue=None: handed.append((task, queue, args[0])))
    with django_capture_on_commit_callbacks() as callbacks:
        outbound.messages_queue_bulk(messages=built)
    stored = Message.objects.filter(lead__in=leads)
    assert stored.count() == 3 and all(message.bulk for message in stored)
    for lead in leads:
        lead.refresh_from_db()
        assert lead.last_message_at == stored.get(lead=lead).created_at
    assert handed == [], "handed off only once committed"
    for callback in callbacks:
        callback()
    assert [(task, queue, len(ids)) for task, queue, ids in handed] == [
        ("messaging.send_messages", settings.CAMPAIGN_QUEUE, 2),
        ("messaging.send_messages", settings.CAMPAIGN_QUEUE, 1),
    ]
    assert {pk for _task, _queue, ids in handed for pk in ids} == {str(message.pk) for message in stored}


def test_one_send_choice_for_the_page_and_the_api():
    """A template when one is given, else the file (the text its caption), else the text."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    lead = lead_in_window()
    template = TemplateFactory(content="Merhaba {{1}}")

    def png():
        return SimpleUploadedFile("salon.png", b"\x89PNG\r\n\x1a\n" + b"0" * 200, content_type="image/png")

    chosen = message_send_any(lead=lead, body="yazı", template=template, upload=png(), sender=None)
    assert (chosen.template, chosen.body, chosen.media_content_type) == (template, "Merhaba Ayşe Yılmaz", "")
    with_file = message_send_any(lead=lead, body="salon", upload=png(), channel="whatsapp", sender=None)
    assert (with_file.template, with_file.body, with_file.media_content_type) == (None, "salon", "image/png")
    text = message_send_any(lead=lead, body="yalnız yazı", sender=None)
    assert (text.template, text.body, text.media_content_type) == (None, "yalnız yazı", "")
    with pytest.raises(SendRefused) as refused:
        message_send_any(lead=lead, sender=None)
    assert refused.value.code == "empty"


def test_a_batch_is_read_at_once_and_each_send_costs_a_few_queries(twilio, django_assert_max_num_queries, settings):
    from messaging.services import outbound

    settings.TWILIO_WHATSAPP_MPS = 10_000  # the rate is not what is measured here
    template = TemplateFactory(content="Merhaba {{1}}", content_sid="HX" + "a" * 32)
    leads = [LeadFactory(name=f"Toplu {n}") for n in range(10)]
    messages = [outbound.template_message_build(lead=lead, template=template) for lead in leads]
    Message.objects.bulk_create(messages)
    ids = [str(message.pk) for message in messages]

    # Read: the messages with their leads and templates, their attachments. Each: the claim, the provider log
    # (a savepoint around it), the SID, the callbacks that raced it (a savepoint around both). Nothing more per
    # message, however big the batch.
    with django_assert_max_num_queries(2 + 10 * 8):
        assert outbound.messages_deliver(message_ids=ids) == {}
    assert [form["To"] for form in twilio.forms] == [f"whatsapp:{lead.phone}" for lead in leads]
    assert all(message.twilio_message_sid for message in Message.objects.filter(pk__in=ids))
    assert outbound.messages_deliver(message_ids=ids) == {} and len(twilio.forms) == 10  # sent once
