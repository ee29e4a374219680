import datetime

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignRecipient
from leads.tests.factories import LeadFactory, StageFactory
from messaging.models import Message
from messaging.services.campaigns import (
    campaign_add_recipients,
    campaign_create,
    campaign_progress,
    campaign_start,
    campaigns_start_due,
)
from messaging.services.outbound import SendRefused
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run what the code under test queued on commit (Celery is eager in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def stage_with_leads():
    stage = StageFactory(name="Teklif")
    leads = LeadFactory.create_batch(3, stage=stage)
    LeadFactory(stage=stage, opted_out_at=timezone.now(), name="Çıkan")
    LeadFactory(stage=stage, phone=None, name="Telefonsuz")
    LeadFactory()  # another stage
    return stage, leads


def test_a_stage_campaign_sends_each_reachable_lead_once(outbox, run, stage_with_leads):
    stage, leads = stage_with_leads
    template = TemplateFactory(content="Merhaba {{1}}, kampanya kodunuz {{4}}")
    with run():
        campaign = campaign_create(name="Kış", template=template, stage=stage, parameters=["KIS26"])
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
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
        with django_assert_max_num_queries(150):  # bulk statements: far fewer than one per recipient
            campaign_create(name="Toplu", template=TemplateFactory(content="Merhaba {{1}}"), stage=stage)
            from messaging.services.campaigns import campaign_run

            campaign = Campaign.objects.get()
            campaign_run(campaign_id=campaign.pk)
    finally:
        app.conf.task_always_eager = True
    assert Message.objects.count() == 2000
    assert CampaignRecipient.objects.filter(outcome="queued").count() == 2000


def test_admin_action_on_selected_leads(staff_client, outbox, run):
    leads = LeadFactory.create_batch(2)
    template = TemplateFactory(content="Merhaba {{1}}")
    url = reverse("admin:leads_lead_changelist")
    page = staff_client.post(url, {"action": "send_campaign", "_selected_action": [lead.pk for lead in leads]})
    assert page.status_code == 200
    assert "2 leads selected." in page.content.decode()

    with run():
        response = staff_client.post(
            url,
            {
                "action": "send_campaign",
                "apply": "1",
                "_selected_action": [lead.pk for lead in leads],
                "name": "Seçili",
                "template": template.pk,
                "parameters": "",
            },
        )
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and str(campaign.pk) in response["Location"]
    assert len(outbox) == 2
    detail = staff_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "100% done — 2 recipients: 2 sent" in detail


def test_command(outbox, run, stage_with_leads, capsys):
    stage, _ = stage_with_leads
    template = TemplateFactory(name="kis_kampanyasi", content="Merhaba {{1}}")
    with run():
        call_command("send_campaign", "--template", "kis_kampanyasi", "--stage", stage.name)
    assert len(outbox) == 3
    assert f"Campaign {Campaign.objects.get().pk}" in capsys.readouterr().out
    campaign = Campaign.objects.get()
    with run():
        call_command("send_campaign", "--campaign", str(campaign.pk))
    assert len(outbox) == 3
    for args, error in [
        (["--template", "nope", "--stage", stage.name], "No template 'nope'"),
        (["--template", template.name, "--stage", "nope"], "No stage 'nope'"),
        (["--template", template.name], "Give --template and --stage"),
        (["--campaign", "123"], "No campaign '123'"),
        (["--template", template.name, "--stage", stage.name, "--start-at", "yarın"], "--start-at"),
    ]:
        with pytest.raises(CommandError, match=error):
            call_command("send_campaign", *args)
