import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.models import Message, WebhookEvent
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db


def test_message_changelist_filters_by_lead_and_stays_flat(staff_client, django_assert_max_num_queries):
    lead = LeadFactory()
    MessageFactory.create_batch(20, lead=lead)
    MessageFactory.create_batch(5)
    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:messaging_message_changelist"), {"lead__id__exact": lead.pk})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 20


def test_messages_are_read_only_in_the_admin(staff_client):
    message = MessageFactory(body="Merhaba")
    assert staff_client.get(reverse("admin:messaging_message_add")).status_code == 403
    url = reverse("admin:messaging_message_change", args=[message.pk])
    response = staff_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="body"' not in page
    assert 'name="opt_change"' not in page and 'name="content"' not in page  # what the webhook recorded stays so
    assert staff_client.post(reverse("admin:messaging_message_delete", args=[message.pk])).status_code == 403


def test_mark_read_action_updates_the_lead_unread_count(staff_client):
    lead = LeadFactory()
    messages = InboundMessageFactory.create_batch(3, lead=lead)
    lead_activity_refresh(lead=lead)
    response = staff_client.post(
        reverse("admin:messaging_message_changelist"),
        {"action": "mark_read", "_selected_action": [m.pk for m in messages[:2]]},
        follow=True,
    )
    assert "2 messages marked as read." in response.content.decode()
    lead.refresh_from_db()
    assert lead.unread_count == 1


def test_star_action(staff_client):
    message = MessageFactory()
    staff_client.post(
        reverse("admin:messaging_message_changelist"), {"action": "star", "_selected_action": [message.pk]}
    )
    assert Message.objects.get().is_starred


def test_webhook_events_are_evidence_not_editable(staff_client):
    event = WebhookEventFactory(last_error="boom")
    changelist = staff_client.get(reverse("admin:messaging_webhookevent_changelist"), {"processed_at__isempty": "1"})
    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == [event]
    detail = staff_client.get(reverse("admin:messaging_webhookevent_change", args=[event.pk]))
    assert detail.status_code == 200
    assert event.message_sid in detail.content.decode()
    assert staff_client.get(reverse("admin:messaging_webhookevent_add")).status_code == 403


def test_reprocess_action(staff_client, post_webhook, monkeypatch):
    from messaging.backends.twilio.tests.payloads import whatsapp_text
    from messaging.services import webhooks

    monkeypatch.setattr(webhooks, "inbound_message_receive", lambda **kwargs: 1 / 0)
    post_webhook(whatsapp_text(body="tekrar"))
    monkeypatch.undo()
    event = WebhookEvent.objects.get()
    response = staff_client.post(
        reverse("admin:messaging_webhookevent_changelist"),
        {"action": "reprocess", "_selected_action": [event.pk]},
        follow=True,
    )
    assert "1 processed, 0 rejected, 0 failed." in response.content.decode()
    assert Message.objects.get().body == "tekrar"


def test_message_page_shows_details_attachments_and_error_meaning(staff_client):
    message = MessageFactory(
        metadata={"ProfileName": "Ayşe <script>", "ButtonPayload": "CONFIRM_YES"}, status="failed", error_code=63016
    )
    message.media.create(position=0, source_url="https://api.twilio.com/m/ME1", content_type="image/jpeg")
    page = staff_client.get(reverse("admin:messaging_message_change", args=[message.pk])).content.decode()
    assert "CONFIRM_YES" in page
    assert "Ayşe &lt;script&gt;" in page
    assert "image/jpeg" in page
    assert "24 hours" in page


def test_resend_action_queues_failed_messages_and_explains_refusals(staff_client, django_capture_on_commit_callbacks):
    from messaging.backends import locmem

    # A free-form WhatsApp message may go again only while the lead's 24-hour window is open.
    failed = MessageFactory(
        status="failed", error_code=30008, twilio_message_sid=None, lead__last_inbound_at=timezone.now()
    )
    delivered = MessageFactory(status="delivered")
    locmem.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:messaging_message_changelist"),
            {"action": "resend", "_selected_action": [failed.pk, delivered.pk]},
            follow=True,
        )
    page = response.content.decode()
    assert "1 message queued again." in page
    assert "Only a failed message" in page
    failed.refresh_from_db()
    assert failed.twilio_message_sid and failed.status == "queued" and failed.error_code is None
    assert [m.body for m in locmem.outbox] == [failed.body]


def test_resend_applies_every_send_rule(staff_client, django_capture_on_commit_callbacks):
    from messaging.backends.locmem import outbox
    from templates_app.tests.factories import TemplateFactory

    now = timezone.now()
    open_window, closed_window = now - datetime.timedelta(hours=1), now - datetime.timedelta(hours=30)
    window_closed = MessageFactory(status="failed", twilio_message_sid=None, lead__last_inbound_at=closed_window)
    opted_out = MessageFactory(
        status="failed", twilio_message_sid=None, lead__last_inbound_at=open_window, lead__opted_out_at=now
    )
    inactive = TemplateFactory(status="inactive")
    inactive_template = MessageFactory(
        status="failed", twilio_message_sid=None, template=inactive, lead__last_inbound_at=closed_window
    )
    too_long = MessageFactory(
        status="failed", twilio_message_sid=None, body="x" * 1601, lead__last_inbound_at=open_window
    )
    approved = TemplateFactory(content_sid="HX" + "a" * 32, approval_status="approved")
    template_outside_window = MessageFactory(
        status="failed", twilio_message_sid=None, template=approved, lead__last_inbound_at=closed_window
    )
    sms_outside_window = MessageFactory(
        status="failed", twilio_message_sid=None, channel="sms", lead__last_inbound_at=closed_window
    )
    outbox.clear()
    selected = [window_closed, opted_out, inactive_template, too_long, template_outside_window, sms_outside_window]
    with django_capture_on_commit_callbacks(execute=True):
        page = staff_client.post(
            reverse("admin:messaging_message_changelist"),
            {"action": "resend", "_selected_action": [message.pk for message in selected]},
            follow=True,
        ).content.decode()
    assert "More than 24 hours have passed since the lead&#x27;s last message" in page
    assert "This lead opted out" in page
    assert f"The template {inactive.name} is inactive." in page
    assert "The message is 1601 characters long; at most 1600 can be sent." in page
    assert "2 messages queued again." in page
    for refused in (window_closed, opted_out, inactive_template, too_long):
        refused.refresh_from_db()
        assert refused.status == "failed"
    assert {message.to for message in outbox} == {template_outside_window.lead.phone, sms_outside_window.lead.phone}
