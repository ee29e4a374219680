"""A send made while the broker is down is sent once it is back; one the broker lost is sent after its expected wait.

The slow tests stop a broker for real: a Redis of their own, started on a free port and stopped in the middle."""

import datetime
import shutil
import threading
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from happycrm.tests.broker import DEAD_BROKER
from leads.tests.factories import LeadFactory
from messaging.models import Channel, Message, MessageStatus
from messaging.services.outbound import HANDOFF_GRACE, messages_hand_off

pytestmark = pytest.mark.django_db


def open_lead(**kwargs):
    return LeadFactory(last_inbound_at=timezone.now() - datetime.timedelta(hours=1), **kwargs)


def shift(messages, seconds: float) -> None:
    """As if `seconds` had passed since these messages were made and handed over."""
    delta = datetime.timedelta(seconds=seconds)
    for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
        Message.objects.filter(pk=message.pk).update(
            created_at=message.created_at - delta,
            handed_off_at=message.handed_off_at and message.handed_off_at - delta,
            handoff_expected_by=message.handoff_expected_by and message.handoff_expected_by - delta,
        )


def test_a_reply_the_broker_refused_is_recorded_and_sent_by_the_sweep(
    staff_client, broker, outbox, run_sweep, published, django_capture_on_commit_callbacks
):
    lead = open_lead()
    broker(DEAD_BROKER, eager=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("api:lead-send", args=[lead.pk]), {"body": "Broker yokken"}, content_type="application/json"
        )
    assert response.status_code == 201
    message = Message.objects.get()
    assert (message.status, message.handed_off_at, message.handoff_attempts) == (MessageStatus.QUEUED, None, 1)
    assert message.handoff_error
    assert (
        staff_client.get(reverse("admin:messaging_message_changelist"), {"handoff": "not_handed_off"})
        .context["cl"]
        .result_count
        == 1
    )

    broker(None, eager=True)  # the broker is back (tests run its tasks in-process)
    counts = run_sweep()
    assert counts["requeued_replies"] == 1
    assert [m.body for m in outbox] == ["Broker yokken"]
    assert published[-1] == ("messaging.send_message", None, str(message.pk))
    message.refresh_from_db()
    assert message.twilio_message_sid and message.handoff_error == ""
    assert run_sweep()["requeued_replies"] == 0


def test_a_send_never_handed_over_is_sent_after_the_grace(broker, outbox, run_sweep):
    """The process stopped between the commit and the hand-off: nothing was recorded but the message."""
    message = Message.objects.create(lead=open_lead(), body="Yarıda kaldım", status=MessageStatus.QUEUED)
    assert run_sweep()["requeued_replies"] == 0, "a fresh message is its own request's to hand over"
    shift([message], HANDOFF_GRACE.total_seconds() + 1)
    assert run_sweep()["requeued_replies"] == 1
    assert [m.body for m in outbox] == ["Yarıda kaldım"]


def test_a_campaign_at_one_message_per_second_is_not_requeued_early(settings, broker, run_sweep, published):
    """300 SMS at 1 MPS legitimately wait five minutes: each batch is overdue only after its own wait + grace."""
    settings.TWILIO_SMS_MPS = 1.0
    lead = open_lead()
    messages = [
        Message.objects.create(
            lead=lead, body=f"kampanya {n}", channel=Channel.SMS, status=MessageStatus.QUEUED, bulk=True
        )
        for n in range(300)
    ]
    broker("memory://", eager=False)  # a broker that takes the tasks; no worker ever does (they were lost)
    for start in range(0, 300, 100):
        assert messages_hand_off(message_ids=[str(m.pk) for m in messages[start : start + 100]], bulk=True)
    published.clear()
    grace = HANDOFF_GRACE.total_seconds()

    shift(messages, grace)  # grace passed: an agent's reply would be overdue, the campaign is not
    assert run_sweep()["requeued_campaign"] == 0
    shift(messages, 150)  # the first 100 should have gone by ~102 s, the next by ~204 s
    assert run_sweep()["requeued_campaign"] == 100
    assert [(task, queue, len(ids)) for task, queue, ids in published] == [
        ("messaging.send_messages", settings.CAMPAIGN_QUEUE, 100)
    ]
    assert set(published[0][2]) == {str(m.pk) for m in messages[:100]}
    shift(messages, 200)
    assert run_sweep()["requeued_campaign"] == 200  # the requeued batch waits again, behind the others


def test_the_expected_wait_counts_the_messages_ahead(settings, broker):
    settings.TWILIO_SMS_MPS = 1.0
    lead = open_lead()
    broker("memory://", eager=False)
    ahead = [Message.objects.create(lead=lead, body="önde", channel=Channel.SMS) for _ in range(60)]
    messages_hand_off(message_ids=[str(m.pk) for m in ahead])
    reply = Message.objects.create(lead=lead, body="sonra", channel=Channel.SMS)
    messages_hand_off(message_ids=[str(reply.pk)])
    reply.refresh_from_db()
    wait = (reply.handoff_expected_by - reply.handed_off_at - HANDOFF_GRACE).total_seconds()
    assert 61 <= wait < 63, wait  # 60 ahead and itself, at 98% of 1 per second


# --- The broker stopped for real ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_a_broker_that_hangs_fails_the_hand_off_in_seconds_and_the_send_is_kept(
    own_redis, client, django_user_model, outbox
):
    client.force_login(django_user_model.objects.create_user(username="agent", is_staff=True, is_superuser=True))
    url = reverse("api:lead-send", args=[open_lead().pk])
    assert client.post(url, {"body": "önce"}, content_type="application/json").status_code == 201  # connected

    own_redis.hang()
    thaw = threading.Timer(30, own_redis.resume)  # without a socket timeout the request waits for this
    thaw.start()
    try:
        started = time.monotonic()
        response = client.post(url, {"body": "Broker donmuşken"}, content_type="application/json")
        waited = time.monotonic() - started
    finally:
        thaw.cancel()
        own_redis.resume()
    assert response.status_code == 201
    assert waited < 15, f"the request waited {waited:.0f} s on a broker that does not answer"
    message = Message.objects.get(pk=response.json()["id"])
    assert (message.status, message.handed_off_at, message.handoff_attempts) == ("queued", None, 1)
    assert message.handoff_error
