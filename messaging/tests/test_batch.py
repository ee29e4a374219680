"""A worker's batch of stored webhook events: processed together in one transaction, as if one after another."""

import datetime
import logging

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS
from django.conf import settings
from django.db import connection
from django.utils import timezone

from happycrm.logfilters import QuietTaskLines
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import new_sid, status_callback, whatsapp_media, whatsapp_text
from messaging.models import Message, MessageMedia, MessageStatus, WebhookEvent
from messaging.services import inbound
from messaging.services.status import message_sid_assign
from messaging.services.webhooks import webhook_events_process
from messaging.tasks import WebhookEventsFailed, process_webhook_events
from messaging.tests.factories import MessageFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db

S = MessageStatus
START = timezone.now() - datetime.timedelta(minutes=10)


def stored(*payloads, kind=WebhookEvent.Kind.INBOUND):
    """Events as the webhook stores them, received one second apart in the order given."""
    return [
        WebhookEvent.objects.create(
            provider="twilio",
            kind=kind,
            payload=payload,
            message_sid=payload["MessageSid"],
            received_at=START + datetime.timedelta(seconds=n),
        )
        for n, payload in enumerate(payloads)
    ]


def statuses(*payloads):
    return stored(*payloads, kind=WebhookEvent.Kind.STATUS)


def outcomes(events):
    return [WebhookEvent.objects.get(pk=event.pk).outcome for event in events]


def mixed_batch(size):
    """`size` inbound messages (half from known leads, half from new numbers, some with an attachment) and `size`
    status callbacks for messages we sent."""
    known = [LeadFactory(phone=f"+90532{n:07d}") for n in range(size // 2)]
    sent = [MessageFactory(lead=known[0] if known else LeadFactory(), status=S.QUEUED) for _ in range(size)]
    events = stored(
        *(
            whatsapp_text(sender=f"+90532{n:07d}", body=f"mesaj {n}")
            if n % 3
            else whatsapp_media(media_urls=["https://api.twilio.com/m/ME1"], sender=f"+90532{n:07d}")
            for n in range(size)
        )
    )
    events += statuses(*(status_callback(sid=message.twilio_message_sid, status="delivered") for message in sent))
    return [str(event.pk) for event in events], known, sent


@pytest.mark.parametrize("size", [4, 50, 100])
def test_a_mixed_batch_takes_the_same_number_of_queries_whatever_its_size(size, django_assert_max_num_queries):
    event_ids, _, sent = mixed_batch(size)

    # 26 on PostgreSQL at every size (the new leads' lead_created events one insert, the conversations two); SQLite
    # splits an insert at 999 parameters (4 more at the Batcher's 100: the messages' three, the conversations' one).
    with django_assert_max_num_queries(26 if connection.vendor == "postgresql" else 30) as queries:
        batch = webhook_events_process(event_ids=event_ids)

    # One transaction: the batch's own savepoint, none per event.
    assert sum(query["sql"].startswith("SAVEPOINT") for query in queries.captured_queries) <= 3
    assert not batch.failures
    assert WebhookEvent.objects.filter(outcome="stored").count() == size
    assert WebhookEvent.objects.filter(outcome="status_applied").count() == size
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()
    assert Message.objects.filter(is_from_lead=True, is_notification_sent=True).count() == size
    assert MessageMedia.objects.count() == len(range(0, size, 3))
    assert Lead.objects.count() == size  # the known half, and one new lead per new number
    assert {lead.unread_count for lead in Lead.objects.all()} == {1}
    assert set(Message.objects.filter(pk__in=[m.pk for m in sent]).values_list("status", flat=True)) == {S.DELIVERED}
    assert Event.objects.filter(type=Event.Type.NEW_MESSAGE).count() == size
    assert Event.objects.filter(type=Event.Type.STATUS_UPDATE).count() == size
    assert Event.objects.filter(type=Event.Type.LEAD_CREATED).count() == size // 2  # one per new number


def test_one_sid_twice_in_a_batch_is_stored_once():
    payload = whatsapp_text(sender="+905551234567")
    events = stored(payload, payload, payload)

    webhook_events_process(event_ids=[event.pk for event in events])

    assert Message.objects.count() == 1
    assert outcomes(events) == ["stored", "duplicate", "duplicate"]
    assert Lead.objects.get().unread_count == 1
    assert Event.objects.filter(type=Event.Type.NEW_MESSAGE).count() == 1


def test_a_new_number_twice_in_a_batch_makes_one_lead():
    events = stored(
        whatsapp_text(sender="+905334445566", body="bir", profile_name="Deniz"),
        whatsapp_text(sender="+905334445566", body="iki", profile_name="Başka"),
        # The same last 10 digits under another country code: found by the fallback, as one message later.
        whatsapp_text(sender="+15334445566", body="üç"),
    )

    webhook_events_process(event_ids=[event.pk for event in events])

    lead = Lead.objects.get()
    assert (lead.phone, lead.name, lead.unread_count) == ("+905334445566", "Deniz", 3)
    assert lead.last_inbound_at == events[-1].received_at
    assert outcomes(events) == ["stored"] * 3
    assert list(lead.messages.order_by("created_at").values_list("body", flat=True)) == ["bir", "iki", "üç"]


def test_the_last_word_of_a_lead_in_a_batch_decides_its_opt_out():
    lead = LeadFactory(phone="+905551234567")
    events = stored(whatsapp_text(body="STOP"), whatsapp_text(body="merhaba"), whatsapp_text(body="START"))
    webhook_events_process(event_ids=[event.pk for event in events])
    lead.refresh_from_db()
    assert lead.opted_out_at is None

    webhook_events_process(event_ids=[event.pk for event in stored(whatsapp_text(body="STOP"))])
    lead.refresh_from_db()
    assert lead.opted_out_at is not None


@pytest.mark.parametrize(
    ("arrivals", "final", "expected"),
    [
        (["delivered", "sent"], S.DELIVERED, ["status_applied", "status_stale"]),
        (["sent", "delivered"], S.DELIVERED, ["status_applied", "status_applied"]),
        (["read", "failed"], S.READ, ["status_applied", "status_stale"]),  # a read receipt proves delivery
        (["failed", "delivered", "read"], S.FAILED, ["status_applied", "status_stale", "status_stale"]),
    ],
)
def test_callbacks_for_one_sid_in_one_batch_end_where_one_after_another_would(arrivals, final, expected):
    message = MessageFactory(status=S.QUEUED)
    events = statuses(
        *(
            status_callback(
                sid=message.twilio_message_sid, status=status, error_code=63016 if status == "failed" else None
            )
            for status in arrivals
        )
    )

    webhook_events_process(event_ids=[event.pk for event in reversed(events)])  # the task's order does not matter

    message.refresh_from_db()
    assert message.status == final
    assert outcomes(events) == expected
    updates = Event.objects.filter(type=Event.Type.STATUS_UPDATE, message=message)
    assert [event.payload["status"] for event in updates] == [final]


def test_a_status_callback_that_raced_its_send_waits_unmatched_and_is_replayed():
    sid = new_sid()
    other = MessageFactory(status=S.SENT)
    events = statuses(
        status_callback(sid=sid, status="sent"),
        status_callback(sid=sid, status="delivered"),
        status_callback(sid=other.twilio_message_sid, status="delivered"),
    )
    webhook_events_process(event_ids=[event.pk for event in events])
    assert outcomes(events) == ["unmatched", "unmatched", "status_applied"]

    message = message_sid_assign(message=MessageFactory(status=S.QUEUED, twilio_message_sid=None), sid=sid)

    assert message.status == S.DELIVERED
    assert outcomes(events) == ["status_applied", "status_applied", "status_applied"]


def test_a_failing_event_is_recorded_alone_and_the_others_are_processed(monkeypatch):
    real = inbound.normalize_phone

    def flaky(value, **kwargs):
        if value.endswith("5550000000"):
            raise ConnectionError("database went away")
        return real(value, **kwargs)

    monkeypatch.setattr(inbound, "normalize_phone", flaky)
    sent = MessageFactory(status=S.QUEUED)
    events = stored(
        whatsapp_text(sender="+905551111111"),
        whatsapp_text(sender="+905550000000"),
        whatsapp_text(sender="HappyCRM", From="HappyCRM"),  # never a phone number: rejected, as today
    ) + statuses(status_callback(sid=sent.twilio_message_sid, status="sent"))

    with pytest.raises(WebhookEventsFailed, match="1 of 4 events failed"):
        process_webhook_events([str(event.pk) for event in events])

    ok, failing, rejected, status = (WebhookEvent.objects.get(pk=event.pk) for event in events)
    assert (ok.outcome, status.outcome) == ("stored", "status_applied")
    assert (failing.outcome, failing.processed_at, failing.attempts) == ("", None, 1)
    assert failing.last_error == "ConnectionError: database went away"
    assert rejected.outcome == "rejected" and "not a phone number" in rejected.last_error
    assert Message.objects.filter(is_from_lead=True).count() == 1

    monkeypatch.undo()  # what the task's retry (or the sweep) then finds
    batch = webhook_events_process(event_ids=[str(event.pk) for event in events])
    assert len(batch.events) == 1  # the others are done
    failing.refresh_from_db()
    assert (failing.outcome, failing.attempts, failing.last_error) == ("stored", 2, "")


def test_the_task_logs_one_summary_line_per_batch(caplog):
    events = stored(whatsapp_text(), whatsapp_text(sender="+905559998877"))
    with caplog.at_level(logging.INFO, logger="messaging.tasks"):
        process_webhook_events([str(event.pk) for event in events])
    lines = [record.getMessage() for record in caplog.records if record.name == "messaging.tasks"]
    assert len(lines) == 1
    assert lines[0].startswith("Processed 2 webhook events in ")
    assert lines[0].endswith(": 2 stored, 0 failed")


def test_celerys_own_lines_for_the_batch_task_are_filtered_out():
    """The LOGGING filter on Celery's loggers: the batch task's "received" and "succeeded" lines go, others stay."""
    quiet = QuietTaskLines(tasks=["messaging.process_webhook_events"])
    configured = next(f for f in logging.getLogger("celery.app.trace").filters if isinstance(f, QuietTaskLines))
    assert quiet.tasks <= configured.tasks  # the outbound webhooks' sends are quiet too

    def record(msg, name):
        return logging.LogRecord("celery.app.trace", logging.INFO, "", 0, msg, ({"name": name, "id": "1"},), None)

    assert not quiet.filter(record(LOG_SUCCESS, "messaging.process_webhook_events"))
    assert not quiet.filter(record(LOG_RECEIVED, "messaging.process_webhook_events"))
    assert quiet.filter(record(LOG_SUCCESS, "messaging.send_message"))
    assert quiet.filter(record("Task %(name)s[%(id)s] retry: %(exc)s", "messaging.process_webhook_events"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_two_workers_with_the_same_messages_store_each_once_and_make_one_lead():
    from messaging.tests.test_concurrency import run_together

    sids = [new_sid() for _ in range(10)]
    # Each worker's batch holds its own events for the same messages (a provider's retries), in another order,
    # and every message comes from one new number.
    payloads = [whatsapp_text(sid=sid, sender="+905337778899", body=f"mesaj {n}") for n, sid in enumerate(sids)]
    batches = [stored(*payloads), stored(*reversed(payloads))]

    run_together(lambda events: webhook_events_process(event_ids=[event.pk for event in events]), batches)

    assert Message.objects.count() == 10
    lead = Lead.objects.get()
    assert lead.unread_count == 10
    assert Event.objects.filter(type=Event.Type.NEW_MESSAGE).count() == 10
    assert sorted(WebhookEvent.objects.values_list("outcome", flat=True)) == ["duplicate"] * 10 + ["stored"] * 10
