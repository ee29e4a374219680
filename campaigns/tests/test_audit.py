"""Campaigns started from the lead list, run again from the campaign list or by the command are in the admin log."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory
from happycrm.audit import SYSTEM_USERNAME
from leads.tests.factories import LeadFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


def test_the_lead_list_action_records_the_campaign_it_created(staff_client, run):
    leads = LeadFactory.create_batch(2)
    template = TemplateFactory(name="bahar", content="Merhaba {{1}}")
    form = {"action": "send_campaign", "apply": "1", "_selected_action": [lead.pk for lead in leads]}
    with run():
        staff_client.post(reverse("admin:leads_lead_changelist"), {**form, "name": "Bahar", "template": template.pk})
    line = LogEntry.objects.get()
    assert (line.object_id, line.user.username) == (str(Campaign.objects.get().pk), "staff")
    assert line.change_message == "Created and started: the template “bahar” to 2 leads."

    later = timezone.now() + datetime.timedelta(days=1)
    staff_client.post(
        reverse("admin:leads_lead_changelist"),
        {**form, "name": "Sonra", "template": template.pk, "start_at": later.strftime("%Y-%m-%d %H:%M")},
    )
    assert LogEntry.objects.filter(change_message__startswith="Created, to start at ").count() == 1


def test_running_again_from_the_admin_is_recorded_on_each_campaign(staff_client, run):
    campaigns = CampaignFactory.create_batch(2)
    with run():
        staff_client.post(
            reverse("admin:campaigns_campaign_changelist"),
            {"action": "run_again", "_selected_action": [campaign.pk for campaign in campaigns]},
        )
    lines = LogEntry.objects.all()
    assert {line.object_id for line in lines} == {str(campaign.pk) for campaign in campaigns}
    assert {line.change_message for line in lines} == {"Run again from the admin."}


def test_the_command_is_recorded_under_the_system_account(run, stage_with_leads, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "deploy")
    stage, _ = stage_with_leads
    TemplateFactory(name="kis", content="Merhaba {{1}}")
    with run():
        call_command("send_campaign", "--template", "kis", "--stage", stage.name)
    campaign = Campaign.objects.get()
    line = LogEntry.objects.get()
    assert (line.object_id, line.user.username) == (str(campaign.pk), SYSTEM_USERNAME)
    by = "manage.py send_campaign, run by deploy: "
    assert line.change_message == by + "Created and started: the template “kis” to 5 leads."
    with run():
        call_command("send_campaign", "--campaign", str(campaign.pk))
    assert LogEntry.objects.latest("pk").change_message == by + "Run again."
