"""A campaign's end: finished only when every outcome is final (a sweep, never per callback), canceled midway
without touching what was sent, and a dry run that skips exactly whom the run skips."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign, CampaignRecipient
from campaigns.selectors import campaign_progress
from campaigns.services import (
    campaign_add_recipients,
    campaign_cancel,
    campaign_create,
    campaign_dry_run,
    campaign_finish_if_done,
    campaign_run,
    campaign_start,
    campaigns_finish_done,
)
from campaigns.tasks import finish_campaigns
from leads.tests.factories import LeadFactory, StageFactory
from messaging.backends.base import StatusUpdate
from messaging.models import Channel, Message, MessageStatus
from messaging.services.outbound import SendRefused, messages_deliver
from messaging.services.status import message_statuses_apply
from messaging.tests.factories import InboundMessageFactory
from notifications.models import Event
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db
R = CampaignRecipient.Outcome


def deliver(messages, status=MessageStatus.DELIVERED):
    message_statuses_apply(updates=[StatusUpdate(sid=m.twilio_message_sid, status=status) for m in messages])


def finished_events():
    return list(Event.objects.filter(type=Event.Type.CAMPAIGN_FINISHED))


def test_a_campaign_is_done_only_once_every_message_is_final(outbox, run, stage_with_leads):
    stage, _ = stage_with_leads
    with run():
        campaign = campaign_create(name="Kış", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage)
    messages = list(Message.objects.filter(bulk=True).order_by("pk"))
    assert len(messages) == 3
    assert campaigns_finish_done() == 0  # queued at the provider: not final

    deliver(messages[:1], MessageStatus.SENT)
    deliver(messages[1:2], MessageStatus.READ)
    deliver(messages[2:], MessageStatus.UNDELIVERED)
    assert finish_campaigns() == 0, "sent is not final"
    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_at, finished_events()) == (Campaign.Status.RUNNING, None, [])

    deliver(messages[:1])
    assert finish_campaigns() == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE and campaign.finished_at is not None
    [event] = finished_events()
    assert event.lead_id is None and event.payload["campaign_id"] == str(campaign.pk)
    assert event.payload["status"] == "done"
    assert event.payload["counts"] == {
        "total": 5,
        "sent": 2,
        "failed": 1,
        "skipped": 2,
        "canceled": 0,
        "unconfirmed": 0,
    }
    assert finish_campaigns() == 0 and len(finished_events()) == 1, "finished once"
    assert campaign_progress(campaign=campaign)["final"] == 5


def test_a_campaign_whose_recipients_are_all_skipped_is_done_at_the_end_of_its_run(outbox, run):
    leads = [LeadFactory(opted_out_at=timezone.now()), LeadFactory(phone=None)]
    with run():
        campaign = campaign_create(name="Boş", template=TemplateFactory(), leads=leads)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE and len(finished_events()) == 1 and outbox == []


def test_status_callbacks_do_no_work_on_the_campaign_tables(outbox, run, stage_with_leads, django_assert_num_queries):
    stage, _ = stage_with_leads
    with run():
        campaign_create(name="Fırtına", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage)
    messages = list(Message.objects.filter(bulk=True))
    with CaptureQueriesContext(connection) as queries:
        deliver(messages)
    assert not [q["sql"] for q in queries.captured_queries if "campaign" in q["sql"]]


def test_the_finish_check_is_one_query_per_campaign(django_assert_num_queries, outbox, run, stage_with_leads):
    stage, _ = stage_with_leads
    with run():
        campaign_create(name="A", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage)
        campaign_create(name="B", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage)
    with django_assert_num_queries(3):  # the candidates, then one check for each
        assert campaigns_finish_done() == 0


def test_a_run_again_of_a_done_campaign_sends_nothing_more(outbox, run):
    lead = LeadFactory()
    with run():
        campaign = campaign_create(name="Tek", template=TemplateFactory(content="Merhaba {{1}}"), leads=[lead])
    deliver(Message.objects.all())
    assert campaigns_finish_done() == 1
    with run():
        assert campaign_start(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE and len(outbox) == 1


def run_halfway(template):
    """A running campaign with two messages sent, two queued but not yet handed to the provider (their hand-offs
    are not run), and two recipients the run has not reached yet."""
    campaign = Campaign.objects.create(name="Yarım", template=template, status=Campaign.Status.RUNNING)
    campaign_add_recipients(campaign=campaign, leads=LeadFactory.create_batch(4))
    campaign_run(campaign_id=campaign.pk)
    campaign_add_recipients(campaign=campaign, leads=LeadFactory.create_batch(2))
    Campaign.objects.filter(pk=campaign.pk).update(run_completed_at=None, status=Campaign.Status.RUNNING)
    queued = list(Message.objects.filter(bulk=True).order_by("pk"))
    messages_deliver(message_ids=[m.pk for m in queued[:2]])
    return campaign, queued


def test_cancel_leaves_sent_messages_alone_and_cancels_the_rest(outbox, django_capture_on_commit_callbacks):
    template = TemplateFactory(content="Merhaba {{1}}")
    with django_capture_on_commit_callbacks(execute=False):  # hand-offs not run: two stay unsent
        campaign, queued = run_halfway(template)
    assert len(outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_cancel(campaign=campaign)
    assert campaign.status == Campaign.Status.CANCELED and campaign.finished_at is None
    outcomes = sorted(CampaignRecipient.objects.filter(campaign=campaign).values_list("outcome", flat=True))
    assert outcomes == ["canceled"] * 4 + ["queued"] * 2
    statuses = {m.pk: m.status for m in Message.objects.all()}
    assert [statuses[m.pk] for m in queued] == ["queued", "queued", "canceled", "canceled"]
    assert Message.objects.filter(twilio_message_sid__isnull=False).count() == 2

    # A hand-off that arrives late, or the run queued again, sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        messages_deliver(message_ids=[m.pk for m in queued])
        campaign_run(campaign_id=campaign.pk)
    assert len(outbox) == 2 and Message.objects.count() == 4
    progress = campaign_progress(campaign=campaign)
    assert (progress["canceled"], progress["sent"], progress["failed"], progress["final"]) == (4, 2, 0, 4)
    assert progress["estimated_end"] is None

    # Finished once the two sent are final; it stays canceled.
    deliver(Message.objects.filter(twilio_message_sid__isnull=False), MessageStatus.READ)
    assert campaigns_finish_done() == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELED and campaign.finished_at is not None
    assert finished_events()[0].payload["counts"]["canceled"] == 4


def test_cancel_of_a_done_or_canceled_campaign_is_refused_and_a_canceled_one_is_never_started(outbox, run):
    with run():
        scheduled = campaign_create(
            name="Sonra",
            template=TemplateFactory(),
            leads=[LeadFactory()],
            start_at=timezone.now() + datetime.timedelta(hours=1),
        )
    campaign_cancel(campaign=scheduled)
    scheduled.refresh_from_db()
    # Nothing was ever sent: finished at once.
    assert scheduled.status == Campaign.Status.CANCELED and scheduled.finished_at is not None
    with pytest.raises(SendRefused) as refused:
        campaign_cancel(campaign=scheduled)
    assert refused.value.code == "not_cancelable"
    Campaign.objects.filter(pk=scheduled.pk).update(start_at=timezone.now())
    with run():
        assert campaign_start(campaign=scheduled) is False
    assert outbox == []


def test_the_run_takes_no_recipient_of_a_canceled_campaign(outbox, run):
    campaign = Campaign.objects.create(name="İptal", template=TemplateFactory(), status=Campaign.Status.CANCELED)
    CampaignRecipient.objects.create(campaign=campaign, lead=LeadFactory())
    with run():
        campaign_run(campaign_id=campaign.pk)
    assert not Message.objects.exists() and CampaignRecipient.objects.get().outcome == "pending"


def test_dry_run_skips_exactly_whom_the_run_skips_and_creates_nothing(outbox, run, settings):
    stage = StageFactory()
    LeadFactory(stage=stage, name="Açık", event_date=datetime.date(2027, 1, 2))
    LeadFactory(stage=stage, name="Çıkan", opted_out_at=timezone.now())
    LeadFactory(stage=stage, name="Telefonsuz", phone=None)
    LeadFactory(stage=stage, name="Tarihsiz", event_date=None)
    sms = LeadFactory(stage=stage, name="SMS'ci", event_date=datetime.date(2027, 1, 2))
    InboundMessageFactory(lead=sms, channel=Channel.SMS)
    template = TemplateFactory(content="Merhaba {{1}}, {{2}}")
    settings.TWILIO_SMS_MPS = 0.5

    dry = campaign_dry_run(template=template, stage=stage)
    assert not Campaign.objects.exists() and Message.objects.filter(bulk=True).count() == 0
    predicted = {row["lead"].name: (row["outcome"], row["reason"]) for row in dry["skipped"]}
    with run():
        campaign = campaign_create(name="Gerçek", template=template, stage=stage)
    actual = {
        r.lead.name: (r.outcome, r.reason)
        for r in CampaignRecipient.objects.filter(campaign=campaign).exclude(outcome="queued").select_related("lead")
    }
    assert predicted == actual and set(actual) == {"Çıkan", "Telefonsuz", "Tarihsiz"}
    sent = Message.objects.filter(bulk=True)
    assert dry["sent"] == sent.count() and dry["sent_by_channel"] == {
        channel: sent.filter(channel=channel).count() for channel in set(sent.values_list("channel", flat=True))
    }
    assert dry["total"] == 5 and dry["skipped_count"] == 5 - dry["sent"] and dry["skipped_listed_all"]
    # The SMS sender at 0.5 a second (98% of it, as the rate limiter spaces sends) is the slowest.
    assert dry["duration"].total_seconds() == pytest.approx(1 / (0.5 * 0.98))
    assert dry["estimated_end"] - dry["estimated_start"] == dry["duration"]


def test_dry_run_refuses_what_creation_refuses():
    with pytest.raises(SendRefused):
        campaign_dry_run(template=TemplateFactory(status="inactive"), leads=[LeadFactory()])


def test_finish_is_recorded_once_when_two_checks_race(outbox, run):
    with run():
        campaign = campaign_create(name="Yarış", template=TemplateFactory(), leads=[LeadFactory(phone=None)])
    assert campaign_finish_if_done(campaign_id=campaign.pk) is False  # already finished by its run
    assert len(finished_events()) == 1


def run_completed(campaign, hours_ago):
    """Time travel: the campaign's run completed that many hours ago."""
    moment = timezone.now() - datetime.timedelta(hours=hours_ago)
    Campaign.objects.filter(pk=campaign.pk).update(run_completed_at=moment)


def test_a_campaign_whose_reports_never_come_is_finished_once_the_settle_time_passed(outbox, run, stage_with_leads):
    stage, _ = stage_with_leads
    with run():
        campaign = campaign_create(name="Sessiz", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage)
    messages = list(Message.objects.filter(bulk=True).order_by("pk"))
    deliver(messages[:1])
    deliver(messages[1:2], MessageStatus.SENT)  # the third one's report never comes either

    run_completed(campaign, hours_ago=71)
    assert finish_campaigns() == 0, "still within CAMPAIGN_SETTLE_HOURS (72)"
    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_at, finished_events()) == (Campaign.Status.RUNNING, None, [])

    run_completed(campaign, hours_ago=73)
    assert finish_campaigns() == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE and campaign.finished_at is not None
    [event] = finished_events()
    assert event.payload["status"] == "done"
    assert event.payload["counts"] == {
        "total": 5,
        "sent": 3,
        "failed": 0,
        "skipped": 2,
        "canceled": 0,
        "unconfirmed": 2,
    }
    statuses = [m.status for m in Message.objects.filter(bulk=True).order_by("pk")]
    assert statuses == [MessageStatus.DELIVERED, MessageStatus.SENT, MessageStatus.QUEUED], "left as reported"
    assert campaign_progress(campaign=campaign)["unconfirmed"] == 2

    # A late report updates its message; the campaign is neither opened again nor finished twice.
    finished_at = campaign.finished_at
    deliver(messages[1:2], MessageStatus.READ)
    assert Message.objects.get(pk=messages[1].pk).status == MessageStatus.READ
    assert finish_campaigns() == 0
    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_at, len(finished_events())) == (Campaign.Status.DONE, finished_at, 1)
    assert campaign_progress(campaign=campaign)["unconfirmed"] == 1


def test_the_settle_time_is_the_setting_and_a_canceled_campaign_stays_canceled(outbox, run, settings):
    settings.CAMPAIGN_SETTLE_HOURS = 240
    with run():
        campaign = campaign_create(
            name="Yarıda", template=TemplateFactory(content="Merhaba {{1}}"), leads=LeadFactory.create_batch(2)
        )
    campaign = campaign_cancel(campaign=campaign)  # both were handed to the provider: they go on
    assert campaign.status == Campaign.Status.CANCELED and campaign.finished_at is None

    run_completed(campaign, hours_ago=100)
    assert finish_campaigns() == 0
    run_completed(campaign, hours_ago=241)
    assert finish_campaigns() == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELED and campaign.finished_at is not None
    [event] = finished_events()
    assert event.payload["status"] == "canceled" and event.payload["counts"]["unconfirmed"] == 2


def test_a_campaign_run_again_waits_anew_for_its_reports(outbox, run):
    """The sweep read the campaign as settled, then it was run again: the finish goes by the row as it is now."""
    with run():
        campaign = campaign_create(
            name="Tekrar", template=TemplateFactory(content="Merhaba {{1}}"), leads=[LeadFactory()]
        )
    run_completed(campaign, hours_ago=73)
    Campaign.objects.filter(pk=campaign.pk).update(run_completed_at=timezone.now())  # its run again completed
    assert campaign_finish_if_done(campaign_id=campaign.pk, settled=True) is False
    campaign.refresh_from_db()
    assert campaign.finished_at is None and finished_events() == []


def test_the_sweep_finishes_a_settled_campaign_in_as_many_queries_whatever_its_size(outbox, run):
    queries = []
    for size in (2, 40):
        with run():
            campaign = campaign_create(
                name=str(size), template=TemplateFactory(content="Merhaba {{1}}"), leads=LeadFactory.create_batch(size)
            )
        run_completed(campaign, hours_ago=73)
        with CaptureQueriesContext(connection) as captured:
            assert finish_campaigns() == 1
        queries.append(len(captured.captured_queries))
    assert queries[0] == queries[1]
