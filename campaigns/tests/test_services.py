import datetime

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignRecipient
from campaigns.selectors import campaign_progress
from campaigns.services import campaign_add_recipients, campaign_create, campaign_start, campaigns_start_due
from leads.tests.factories import LeadFactory, StageFactory
from messaging.models import Message
from messaging.services.outbound import SendRefused
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


def test_a_stage_campaign_sends_each_reachable_lead_once(outbox, run, stage_with_leads):
    stage, leads = stage_with_leads
    template = TemplateFactory(content="Merhaba {{1}}, kampanya kodunuz {{4}}")
    with run():
        campaign = campaign_create(name="Kış", template=template, stage=stage, parameters=["KIS26"])
    campaign.refresh_from_db()
    # Every recipient queued or skipped; not finished until the provider reports on each message.
    assert (campaign.status, campaign.finished_at) == (Campaign.Status.RUNNING, None)
    assert campaign.run_completed_at is not None
    assert sorted(m.to for m in outbox) == sorted(lead.phone for lead in leads)
    assert all(m.content_sid == template.content_sid for m in outbox)
    assert {m.content_variables["4"] for m in outbox} == {"KIS26"}
    outcomes = dict(CampaignRecipient.objects.values_list("lead__name", "outcome").exclude(outcome="queued"))
    assert outcomes == {"Çıkan": "skipped_opted_out", "Telefonsuz": "skipped_no_phone"}
    progress = campaign_progress(campaign=campaign)
    assert (progress["total"], progress["sent"], progress["skipped"], progress["percent"]) == (5, 3, 2, 100)


def test_running_again_or_adding_the_same_leads_never_sends_twice(outbox, run, stage_with_leads):
    stage, leads = stage_with_leads
    with run():
        campaign = campaign_create(name="Kış", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage)
    with run():
        campaign_add_recipients(campaign=campaign, leads=leads)
        campaign_start(campaign=campaign)
    assert len(outbox) == 3
    assert Message.objects.filter(template=campaign.template).count() == 3
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 5


def test_a_later_start_waits_for_its_time(outbox, run, stage_with_leads):
    stage, _ = stage_with_leads
    start = timezone.now() + datetime.timedelta(hours=1)
    with run():
        campaign = campaign_create(
            name="Yarın", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage, start_at=start
        )
        assert campaigns_start_due() == 0
    assert outbox == [] and campaign.status == Campaign.Status.SCHEDULED
    Campaign.objects.filter(pk=campaign.pk).update(start_at=timezone.now() - datetime.timedelta(minutes=1))
    with run():
        assert campaigns_start_due() == 1
    assert len(outbox) == 3


def test_unapproved_or_inactive_templates_are_refused(stage_with_leads):
    stage, _ = stage_with_leads
    for template in (TemplateFactory(approval_status="pending"), TemplateFactory(status="inactive")):
        with pytest.raises(SendRefused):
            campaign_create(name="x", template=template, stage=stage)
    assert not Campaign.objects.exists()


def test_a_missing_value_skips_that_lead_with_the_reason(outbox, run):
    stage = StageFactory()
    with_date = LeadFactory(stage=stage, event_date=datetime.date(2026, 12, 5))
    LeadFactory(stage=stage, event_date=None, name="Tarihsiz")
    with run():
        campaign_create(name="Tarih", template=TemplateFactory(content="Merhaba {{1}}, {{2}}"), stage=stage)
    assert [m.to for m in outbox] == [with_date.phone]
    skipped = CampaignRecipient.objects.get(outcome="skipped_refused")
    assert skipped.lead.name == "Tarihsiz" and "{{2}}" in skipped.reason


def test_recipients_are_queued_in_bulk(django_assert_max_num_queries, settings):
    from leads.models import Lead

    stage = StageFactory()
    Lead.objects.bulk_create(Lead(name=f"Müşteri {n}", phone=f"+90532{n:07d}", stage=stage) for n in range(2000))
    settings.CELERY_TASK_ALWAYS_EAGER = False  # only the queueing is measured here, not the sends
    from happycrm.celery import app

    app.conf.task_always_eager = False
    try:
        # Bulk statements: far fewer than one per recipient (SQLite splits each bulk insert by its 999 parameters).
        with django_assert_max_num_queries(160):
            campaign_create(name="Toplu", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage)
            from campaigns.services import campaign_run

            campaign = Campaign.objects.get()
            campaign_run(campaign_id=campaign.pk)
    finally:
        app.conf.task_always_eager = True
    assert Message.objects.count() == 2000
    assert CampaignRecipient.objects.filter(outcome="queued").count() == 2000


def test_a_campaign_skips_a_lead_whose_template_would_be_too_long(django_capture_on_commit_callbacks):
    short, long = LeadFactory(name="Can"), LeadFactory(name="Ayşe Yılmaz Demir")
    template = TemplateFactory(content="x" * 1590 + " {{1}}")  # 1594 for Can, 1608 for the other
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_create(name="Uzun", template=template, leads=[short, long])
    recipients = {r.lead_id: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
    assert recipients[short.pk].outcome == CampaignRecipient.Outcome.QUEUED
    assert recipients[long.pk].outcome == CampaignRecipient.Outcome.SKIPPED_REFUSED
    assert recipients[long.pk].reason == "The message is 1608 characters long; at most 1600 can be sent."
