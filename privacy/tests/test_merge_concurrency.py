"""A message arriving for the lead a merge erases, with real row locks (PostgreSQL): it is never lost. Committed
before the merge locks the leads, it moves with the rest; arriving while the merge holds them, it waits, fails as
its lead is gone, and its kept webhook event stores it for the lead its number finds on the retry."""

import threading
import time

import pytest
from django.conf import settings
from django.db import IntegrityError, connection

from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import new_sid, whatsapp_text
from messaging.models import Message, WebhookEvent
from messaging.services import inbound
from messaging.services.webhooks import webhook_event_process
from privacy import services as privacy_services
from privacy.services import Requester, leads_merge

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
    ),
]

KEEP, OTHER = "+905551234567", "+15551234567"  # one person's number in two forms: the same last 10 digits


def in_thread(function, errors: list) -> threading.Thread:
    def run():
        try:
            function()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_a_lock_wait(timeout: float = 10) -> None:
    """Until a connection to this database waits for a row lock (the other thread is blocked where it should be)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("no connection waited for a lock")


@pytest.fixture
def leads():
    return LeadFactory(name="Ayşe Yılmaz", phone=KEEP), LeadFactory(name="Ayşe Yılmaz", phone=OTHER)


def arriving(sid: str) -> WebhookEvent:
    payload = whatsapp_text(sid=sid, sender=OTHER, body="Bir sorum daha var")
    return WebhookEvent.objects.create(provider="twilio", kind=WebhookEvent.Kind.INBOUND, payload=payload,
                                       message_sid=sid, sender=OTHER)  # fmt: skip


def test_a_message_arriving_while_the_merge_holds_the_leads_is_stored_by_its_retry(admin_user, leads, monkeypatch):
    keep, other = leads
    sid = new_sid()
    event = arriving(sid)
    locked, release = threading.Event(), threading.Event()
    real_move = privacy_services.messages_move_to_lead

    def move_and_hold(**kwargs):
        moved = real_move(**kwargs)
        locked.set()
        release.wait(timeout=10)  # both leads stay locked while the message arrives
        return moved

    monkeypatch.setattr(privacy_services, "messages_move_to_lead", move_and_hold)
    errors: list = []
    merging = in_thread(lambda: leads_merge(keep=keep, other=other, requester=Requester.admin(admin_user)), errors)
    assert locked.wait(timeout=10)
    worker: list = []
    receiving = in_thread(lambda: webhook_event_process(event_id=event.pk), worker)
    wait_for_a_lock_wait()  # the worker waits for the lead the merge holds
    release.set()
    merging.join(timeout=30)
    receiving.join(timeout=30)

    assert errors == []
    assert not Lead.objects.filter(pk=other.pk).exists()
    [failure] = worker  # its lead was gone when the worker committed: the worker's transaction failed
    assert isinstance(failure, IntegrityError)
    event.refresh_from_db()
    assert event.processed_at is None, "the event stays, unprocessed, for the retry"

    webhook_event_process(event_id=event.pk)  # the sweep's retry
    stored = Message.objects.get(twilio_message_sid=sid)
    assert stored.lead_id == keep.pk, "the number's last 10 digits find the kept lead"
    assert Lead.objects.get(pk=keep.pk).unread_count == 1


def test_a_message_committing_before_the_merge_locks_the_leads_moves_with_the_rest(admin_user, leads, monkeypatch):
    keep, other = leads
    sid = new_sid()
    event = arriving(sid)
    inside, release = threading.Event(), threading.Event()
    real_record = inbound.conversations_record_inbound

    def record_and_hold(**kwargs):
        result = real_record(**kwargs)
        inside.set()
        release.wait(timeout=10)  # the message is stored and its lead locked, not committed yet
        return result

    monkeypatch.setattr(inbound, "conversations_record_inbound", record_and_hold)
    errors: list = []
    receiving = in_thread(lambda: webhook_event_process(event_id=event.pk), errors)
    assert inside.wait(timeout=10)
    merging = in_thread(lambda: leads_merge(keep=keep, other=other, requester=Requester.admin(admin_user)), errors)
    wait_for_a_lock_wait()  # the merge waits for the lead the worker holds
    release.set()
    receiving.join(timeout=30)
    merging.join(timeout=30)

    assert errors == []
    assert Message.objects.get(twilio_message_sid=sid).lead_id == keep.pk
    kept = Lead.objects.get(pk=keep.pk)
    assert kept.unread_count == 1 and kept.last_inbound_at is not None
    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.STORED
    assert kept.conversations.count() == 1
