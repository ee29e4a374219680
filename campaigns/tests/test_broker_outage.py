"""Campaigns through a broker outage: their batches go again on their own queue, and a run the broker refused or
lost is run again by the periodic resume (campaigns.resume_lost_campaigns)."""

import datetime
import shutil

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignRecipient
from campaigns.services import RUN_LOST_AFTER, RUN_NOT_STARTED_AFTER, campaign_create, campaign_run
from campaigns.tasks import resume_lost_campaigns
from happycrm.tests.broker import DEAD_BROKER, wait_until, worker
from messaging.models import Message, MessageStatus
from messaging.services import outbound
from messaging.services.webhooks import webhook_events_sweep
from messaging.tests.test_broker_outage import open_lead
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


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


def test_a_campaign_whose_run_was_lost_is_run_again(broker, outbox, resume_lost, django_capture_on_commit_callbacks):
    leads = [open_lead() for _ in range(2)]
    template = TemplateFactory(content="Merhaba {{1}}", content_sid="")
    broker(DEAD_BROKER, eager=False)
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_create(name="Kayıp", template=template, leads=leads)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING and not Message.objects.exists()

    broker(None, eager=True)
    assert resume_lost() == 0, "a run queued a moment ago may still be on its way"
    Campaign.objects.filter(pk=campaign.pk).update(created_at=timezone.now() - RUN_NOT_STARTED_AFTER)
    assert resume_lost() == 1, "a run not started a minute after it was queued was lost"
    campaign.refresh_from_db()
    # Every recipient queued: it waits for the delivery reports, and its run is no longer resumed.
    assert campaign.status == Campaign.Status.RUNNING and campaign.run_completed_at is not None
    Campaign.objects.filter(pk=campaign.pk).update(created_at=timezone.now() - RUN_LOST_AFTER)
    assert resume_lost() == 0
    assert sorted(m.body for m in outbox) == sorted(f"Merhaba {lead.name}" for lead in leads)


def test_a_campaign_run_that_died_midway_is_resumed_but_a_progressing_one_is_not(broker, resume_lost):
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
    assert resume_lost() == 1
    assert not CampaignRecipient.objects.filter(campaign=stalled, outcome="pending").exists()
    assert CampaignRecipient.objects.filter(campaign=moving, outcome="pending").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_sends_made_while_the_broker_is_down_are_sent_once_it_is_back(
    own_redis, client, django_user_model, settings, outbox
):
    client.force_login(django_user_model.objects.create_user(username="agent", is_staff=True, is_superuser=True))
    lead = open_lead()
    template = TemplateFactory(content="Merhaba {{1}}", content_sid="")
    url = reverse("api:lead-send", args=[lead.pk])

    response = client.post(url, {"body": "önce"}, content_type="application/json")
    assert response.status_code == 201
    accepted = Message.objects.get(pk=response.json()["id"])
    assert accepted.handed_off_at is not None and own_redis.queue_lengths()["celery"] == 1

    own_redis.stop()
    response = client.post(url, {"body": "Broker yokken yazdım"}, content_type="application/json")
    assert response.status_code == 201
    refused = Message.objects.get(pk=response.json()["id"])
    assert (refused.status, refused.handed_off_at, refused.handoff_attempts) == ("queued", None, 1)
    campaign = campaign_create(name="Kesinti", template=template, leads=[open_lead(), open_lead()])

    own_redis.start()  # empty: the task queued before the outage is lost with it
    counts = webhook_events_sweep()
    resume_lost_campaigns()
    assert counts["requeued_replies"] == 1, counts  # the refused one; the lost one is not due yet
    assert own_redis.queue_lengths() == {"celery": 1, "campaigns": 0}
    Message.objects.filter(pk=accepted.pk).update(handoff_expected_by=timezone.now())
    Campaign.objects.filter(pk=campaign.pk).update(created_at=timezone.now() - RUN_LOST_AFTER)
    counts = webhook_events_sweep()
    assert (counts["requeued_replies"], resume_lost_campaigns()) == (1, 1), counts

    with worker():
        assert wait_until(lambda: len(outbox) == 4), [m.body for m in outbox]
    assert sorted(m.body for m in outbox) == sorted(
        ["önce", "Broker yokken yazdım"] + [f"Merhaba {r.lead.name}" for r in campaign.recipients.all()]
    )
    assert not Message.objects.filter(twilio_message_sid__isnull=True).exists()
    assert Campaign.objects.get(pk=campaign.pk).run_completed_at is not None
