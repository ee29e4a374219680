"""A send made while the broker is down is sent once it is back; one the broker lost is sent after its expected wait.

The slow tests stop a broker for real: a Redis of their own, started on a free port and stopped in the middle."""

import datetime
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignRecipient
from happycrm.celery import app
from leads.tests.factories import LeadFactory
from messaging.models import Channel, Message, MessageStatus
from messaging.services import outbound
from messaging.services.campaigns import RUN_LOST_AFTER, RUN_NOT_STARTED_AFTER, campaign_create, campaign_run
from messaging.services.outbound import HANDOFF_GRACE, messages_hand_off
from messaging.services.webhooks import webhook_events_sweep
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


def use_broker(url: str | None, *, eager: bool) -> None:
    if url is not None:
        app.conf.broker_url = url
    app.conf.task_always_eager = eager
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """Switch the Celery app's broker for one test and put it back afterwards."""
    saved = app.conf.broker_url, app.conf.task_always_eager
    yield use_broker
    use_broker(saved[0], eager=saved[1])


@pytest.fixture
def published(monkeypatch):
    """Every hand-off as (task, queue, ids), still going through the real publish."""
    calls = []
    real = outbound.send

    def spy(task, *args, queue=None):
        calls.append((task.name, queue, args[0]))
        return real(task, *args, queue=queue)

    monkeypatch.setattr(outbound, "send", spy)
    return calls


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


DEAD_BROKER = "redis://127.0.0.1:9/0"  # nothing listens there: publishing fails as it does in an outage


def test_a_reply_the_broker_refused_is_recorded_and_sent_by_the_sweep(
    staff_client, broker, outbox, run_sweep, published, django_capture_on_commit_callbacks
):
    lead = open_lead()
    broker(DEAD_BROKER, eager=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("messaging:lead-send", args=[lead.pk]), {"body": "Broker yokken"}, content_type="application/json"
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


def test_campaign_batches_refused_by_the_broker_go_again_on_the_campaigns_queue(
    settings, broker, outbox, run_sweep, published, django_capture_on_commit_callbacks
):
    leads = [open_lead() for _ in range(3)]
    template = TemplateFactory(content="Merhaba {{1}}", content_sid="")
    campaign = Campaign.objects.create(name="Kış", template=template, status=Campaign.Status.RUNNING)
    CampaignRecipient.objects.bulk_create(CampaignRecipient(campaign=campaign, lead=lead) for lead in leads)
    reply = Message.objects.create(lead=leads[0], body="cevap", status=MessageStatus.QUEUED)
    broker(DEAD_BROKER, eager=False)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_run(campaign_id=campaign.pk)
        outbound._queue(reply)
    batch = Message.objects.exclude(pk=reply.pk)
    assert batch.count() == 3
    assert not batch.filter(handed_off_at__isnull=False).exists()
    assert set(batch.values_list("handoff_attempts", flat=True)) == {1}

    broker(None, eager=True)
    published.clear()
    counts = run_sweep()
    assert (counts["requeued_replies"], counts["requeued_campaign"]) == (1, 3)
    assert [(task, queue) for task, queue, _ids in published] == [
        ("messaging.send_message", None),  # the agent's reply first, on the default queue
        ("messaging.send_messages", settings.CAMPAIGN_QUEUE),
    ]
    assert sorted(m.body for m in outbox) == sorted(["cevap"] + [f"Merhaba {lead.name}" for lead in leads])


def test_a_campaign_whose_run_was_lost_is_run_again(broker, outbox, run_sweep, django_capture_on_commit_callbacks):
    leads = [open_lead() for _ in range(2)]
    template = TemplateFactory(content="Merhaba {{1}}", content_sid="")
    broker(DEAD_BROKER, eager=False)
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_create(name="Kayıp", template=template, leads=leads)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING and not Message.objects.exists()

    broker(None, eager=True)
    assert run_sweep()["campaigns_resumed"] == 0, "a run queued a moment ago may still be on its way"
    Campaign.objects.filter(pk=campaign.pk).update(created_at=timezone.now() - RUN_NOT_STARTED_AFTER)
    assert run_sweep()["campaigns_resumed"] == 1, "a run not started a minute after it was queued was lost"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    assert sorted(m.body for m in outbox) == sorted(f"Merhaba {lead.name}" for lead in leads)


def test_a_campaign_run_that_died_midway_is_resumed_but_a_progressing_one_is_not(broker, run_sweep):
    template = TemplateFactory(content="Merhaba {{1}}", content_sid="")
    old = timezone.now() - RUN_LOST_AFTER - datetime.timedelta(minutes=1)
    stalled = Campaign.objects.create(name="durdu", template=template, status="running", started_at=old)
    moving = Campaign.objects.create(name="sürüyor", template=template, status="running", started_at=old)
    for campaign in (stalled, moving):
        done, pending = open_lead(), open_lead()
        message = Message.objects.create(lead=done, body="ilk", status=MessageStatus.SENT, twilio_message_sid=None)
        CampaignRecipient.objects.create(campaign=campaign, lead=done, message=message, outcome="queued")
        CampaignRecipient.objects.create(campaign=campaign, lead=pending)
        if campaign is stalled:
            Message.objects.filter(pk=message.pk).update(created_at=old)
    assert run_sweep()["campaigns_resumed"] == 1
    assert not CampaignRecipient.objects.filter(campaign=stalled, outcome="pending").exists()
    assert CampaignRecipient.objects.filter(campaign=moving, outcome="pending").exists()


# --- The broker stopped for real ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server (no persistence: a restart loses what was queued, as a crashed broker may)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        command = [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def hang(self) -> None:
        """The broker stops answering but keeps its connections open (a frozen host, a half-open network)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def queue_lengths(self) -> dict[str, int]:
        client = redis.Redis.from_url(self.url)
        return {name: client.llen(name) for name in ("celery", "campaigns")}


@pytest.fixture
def own_redis(broker):
    server = RedisServer()
    server.start()
    broker(server.url, eager=False)
    yield server
    if server.process.poll() is None:
        server.stop()


def wait_until(predicate, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def worker():
    return start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["celery", "campaigns"])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_sends_made_while_the_broker_is_down_are_sent_once_it_is_back(
    own_redis, client, django_user_model, settings, outbox
):
    client.force_login(django_user_model.objects.create_user(username="agent", is_staff=True, is_superuser=True))
    lead = open_lead()
    template = TemplateFactory(content="Merhaba {{1}}", content_sid="")
    url = reverse("messaging:lead-send", args=[lead.pk])

    assert client.post(url, {"body": "önce"}, content_type="application/json").status_code == 201
    accepted = Message.objects.get(body="önce")
    assert accepted.handed_off_at is not None and own_redis.queue_lengths()["celery"] == 1

    own_redis.stop()
    response = client.post(url, {"body": "Broker yokken yazdım"}, content_type="application/json")
    assert response.status_code == 201
    refused = Message.objects.get(pk=response.json()["id"])
    assert (refused.status, refused.handed_off_at, refused.handoff_attempts) == ("queued", None, 1)
    campaign = campaign_create(name="Kesinti", template=template, leads=[open_lead(), open_lead()])

    own_redis.start()  # empty: the task queued before the outage is lost with it
    counts = webhook_events_sweep()
    assert counts["requeued_replies"] == 1, counts  # the refused one; the lost one is not due yet
    assert own_redis.queue_lengths() == {"celery": 1, "campaigns": 0}
    Message.objects.filter(pk=accepted.pk).update(handoff_expected_by=timezone.now())
    Campaign.objects.filter(pk=campaign.pk).update(created_at=timezone.now() - RUN_LOST_AFTER)
    counts = webhook_events_sweep()
    assert (counts["requeued_replies"], counts["campaigns_resumed"]) == (1, 1), counts

    with worker():
        assert wait_until(lambda: len(outbox) == 4), [m.body for m in outbox]
    assert sorted(m.body for m in outbox) == sorted(
        ["önce", "Broker yokken yazdım"] + [f"Merhaba {r.lead.name}" for r in campaign.recipients.all()]
    )
    assert not Message.objects.filter(twilio_message_sid__isnull=True).exists()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DONE


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_a_broker_that_hangs_fails_the_hand_off_in_seconds_and_the_send_is_kept(
    own_redis, client, django_user_model, outbox
):
    client.force_login(django_user_model.objects.create_user(username="agent", is_staff=True, is_superuser=True))
    url = reverse("messaging:lead-send", args=[open_lead().pk])
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
