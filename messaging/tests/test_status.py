import pytest
from django.utils import translation

from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import new_sid, status_callback
from messaging.models import Message, MessageStatus, WebhookEvent
from messaging.selectors import message_error_explanation, webhook_diagnostics
from messaging.services.status import message_sid_assign, status_supersedes
from messaging.tests.factories import MessageFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db

S = MessageStatus


@pytest.fixture
def outbound():
    return MessageFactory(status=S.QUEUED, twilio_message_sid=new_sid())


def statuses_after(post_webhook, message, *statuses):
    for status in statuses:
        assert post_webhook(status_callback(sid=message.twilio_message_sid, status=status)).status_code == 200
    message.refresh_from_db()
    return message.status


def test_forward_progress(post_webhook, outbound):
    assert statuses_after(post_webhook, outbound, "sent", "delivered", "read") == S.READ
    updates = Event.objects.filter(type=Event.Type.STATUS_UPDATE)  # read, not looked up: it may be encrypted
    assert [event.payload["status"] for event in updates] == ["sent", "delivered", "read"]


@pytest.mark.parametrize(
    ("arrivals", "final"),
    [
        (["delivered", "sent"], S.DELIVERED),
        (["read", "delivered", "sent", "queued"], S.READ),
        (["sent", "sending", "accepted"], S.SENT),
        (["delivered", "delivered"], S.DELIVERED),
    ],
)
def test_late_callbacks_never_move_a_message_back(post_webhook, outbound, arrivals, final):
    assert statuses_after(post_webhook, outbound, *arrivals) == final
    outcomes = list(WebhookEvent.objects.order_by("received_at").values_list("outcome", flat=True))
    assert outcomes == ["status_applied"] + ["status_stale"] * (len(arrivals) - 1)


def test_failure_is_final_and_explained(post_webhook, outbound):
    post_webhook(
        status_callback(
            sid=outbound.twilio_message_sid, status="failed", error_code=63016, ErrorMessage="Outside the window"
        )
    )
    assert statuses_after(post_webhook, outbound, "delivered", "read") == S.FAILED
    assert outbound.error_code == 63016
    assert outbound.error_message == "Outside the window"
    with translation.override("en"):
        assert "24 hours" in message_error_explanation(outbound)
    with translation.override("tr"):
        assert "24 saat" in message_error_explanation(outbound)


def test_undelivered_after_sent_and_unknown_codes_keep_twilio_text(post_webhook, outbound):
    post_webhook(status_callback(sid=outbound.twilio_message_sid, status="sent"))
    post_webhook(status_callback(sid=outbound.twilio_message_sid, status="undelivered", error_code=99999))
    outbound.refresh_from_db()
    assert outbound.status == S.UNDELIVERED
    assert outbound.error_code == 99999
    with translation.override("en"):
        assert message_error_explanation(outbound) == "Twilio error 99999."


def test_read_receipt_is_not_undone_by_a_late_failure():
    assert not status_supersedes(S.READ, S.FAILED)
    assert status_supersedes(S.DELIVERED, S.UNDELIVERED)
    assert not status_supersedes(S.FAILED, S.DELIVERED)
    assert not status_supersedes(S.CANCELED, S.QUEUED)
    assert not status_supersedes(S.SENT, S.RECEIVED)


def test_21610_marks_the_lead_opted_out(post_webhook):
    lead = LeadFactory()
    message = MessageFactory(lead=lead, status=S.QUEUED, twilio_message_sid=new_sid())
    post_webhook(status_callback(sid=message.twilio_message_sid, status="failed", error_code=21610))
    lead.refresh_from_db()
    assert lead.opted_out_at is not None


def test_callback_for_a_sid_never_sent_is_kept_and_shown(post_webhook):
    sid = new_sid()
    response = post_webhook(status_callback(sid=sid, status="delivered"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.UNMATCHED
    assert event.processed_at is not None
    unmatched = webhook_diagnostics()["unmatched_status_callbacks"]
    assert [row["message_sid"] for row in unmatched] == [sid]
    assert unmatched[0]["status"] == "delivered"


def test_callback_that_raced_the_send_is_applied_when_the_sid_arrives(post_webhook):
    sid = new_sid()
    post_webhook(status_callback(sid=sid, status="sent"))
    post_webhook(status_callback(sid=sid, status="delivered"))
    message = MessageFactory(status=S.QUEUED, twilio_message_sid=None)

    message = message_sid_assign(message=message, sid=sid)

    assert message.status == S.DELIVERED
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) <= {"status_applied", "status_stale"}
    assert not WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.UNMATCHED).exists()


def test_sweep_replays_a_callback_that_missed_the_sid_assignment(post_webhook):
    from messaging.services.webhooks import webhook_events_sweep

    sid = new_sid()
    post_webhook(status_callback(sid=sid, status="delivered"))
    message = MessageFactory(status=S.SENT, twilio_message_sid=sid)  # stored without the replay, as in a race
    assert webhook_events_sweep()["replayed"] == 1
    message.refresh_from_db()
    assert message.status == S.DELIVERED


def test_status_for_an_inbound_message_sid_does_not_touch_it(post_webhook):
    inbound = MessageFactory(is_from_lead=True, status=S.RECEIVED, twilio_message_sid=new_sid())
    post_webhook(status_callback(sid=inbound.twilio_message_sid, status="received"))
    inbound.refresh_from_db()
    assert inbound.status == S.RECEIVED
    assert Message.objects.count() == 1
