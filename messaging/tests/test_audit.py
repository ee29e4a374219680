"""The message and webhook-event actions and commands that change data leave a line in the admin log."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from happycrm.audit import SYSTEM_USERNAME
from leads.models import Lead
from messaging.models import Message, WebhookEvent
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory

pytestmark = pytest.mark.django_db


def act(client, action, messages):
    return client.post(
        reverse("admin:messaging_message_changelist"),
        {"action": action, "_selected_action": [message.pk for message in messages]},
    )


@pytest.mark.parametrize(
    ("action", "fields", "text"),
    [
        ("mark_read", {"is_read": False}, "Messages marked as read"),
        ("star", {"is_starred": False}, "Messages starred"),
        ("unstar", {"is_starred": True}, "Messages unstarred"),
    ],
)
def test_message_actions_name_the_messages_changed_but_not_their_text(staff_client, action, fields, text):
    changed = InboundMessageFactory(body="Gizli metin", **fields)
    unchanged = InboundMessageFactory(
        body="Başka", lead=changed.lead, is_read=True, is_starred=fields.get("is_starred") is False
    )
    lead_activity_refresh(lead=changed.lead)
    act(staff_client, action, [changed, unchanged])
    line = LogEntry.objects.get()
    assert line.user.username == "staff" and line.content_type.model_class() is Message
    assert line.change_message == f"{text}: {changed.pk}"
    assert "Gizli" not in line.object_repr + line.change_message
    act(staff_client, action, [changed])  # nothing left to change: nothing recorded
    assert LogEntry.objects.count() == 1


def test_resend_records_only_the_messages_queued_again(staff_client, django_capture_on_commit_callbacks):
    failed = MessageFactory(status="failed", twilio_message_sid=None, lead__last_inbound_at=timezone.now())
    delivered = MessageFactory(status="delivered")
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, "resend", [failed, delivered])
    assert LogEntry.objects.get().change_message == f"Messages queued again: {failed.pk}"
    act(staff_client, "resend", [delivered])
    assert LogEntry.objects.count() == 1


def test_reprocessing_events_is_recorded_on_each_event(staff_client, post_webhook, monkeypatch):
    from messaging.backends.twilio.tests.payloads import whatsapp_text
    from messaging.services import webhooks

    monkeypatch.setattr(webhooks, "inbound_message_receive", lambda **kwargs: 1 / 0)
    post_webhook(whatsapp_text(body="tekrar"))
    monkeypatch.undo()
    event = WebhookEvent.objects.get()
    staff_client.post(
        reverse("admin:messaging_webhookevent_changelist"), {"action": "reprocess", "_selected_action": [event.pk]}
    )
    line = LogEntry.objects.get()
    assert (line.object_id, line.user.username) == (str(event.pk), "staff")
    assert line.change_message == "Reprocessed: 1 processed, 0 rejected, 0 failed."


def test_reprocess_command_is_recorded_under_the_system_account(post_webhook, monkeypatch):
    from messaging.backends.twilio.tests.payloads import whatsapp_text
    from messaging.services import webhooks

    monkeypatch.setattr("getpass.getuser", lambda: "ops")
    with monkeypatch.context() as patch:
        patch.setattr(webhooks, "inbound_message_receive", lambda **kwargs: 1 / 0)
        post_webhook(whatsapp_text(body="tekrar"))
    event = WebhookEvent.objects.get()
    call_command("reprocess_webhooks", "--event", str(event.pk))
    line = LogEntry.objects.get()
    assert (line.object_id, line.user.username) == (str(event.pk), SYSTEM_USERNAME)
    assert line.change_message == "manage.py reprocess_webhooks, run by ops: 1 processed, 0 rejected, 0 failed."
    call_command("reprocess_webhooks", "--older-than", "0")
    whole = LogEntry.objects.exclude(pk=line.pk).get()
    assert whole.object_id is None and whole.content_type.model_class() is WebhookEvent
    call_command("reprocess_webhooks", "--queue")
    assert LogEntry.objects.filter(change_message__contains="Queued 0 events").count() == 1


def test_simulate_inbound_and_seed_demo_are_recorded(settings):
    call_command("simulate_inbound", "Merhaba", "--from", "0555 123 45 67")
    line = LogEntry.objects.get()
    assert line.content_type.model_class() is WebhookEvent and "simulate_inbound" in line.change_message
    assert "Merhaba" not in line.change_message
    settings.DEBUG = True
    call_command("seed_demo")
    seeded = LogEntry.objects.filter(change_message__contains="seed_demo")
    assert seeded.get().content_type.model_class() is Lead
    call_command("seed_demo")  # nothing new: nothing recorded
    assert seeded.count() == 1
