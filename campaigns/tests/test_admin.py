import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CampaignRecipientFactory
from leads.tests.factories import LeadFactory
from messaging.models import MessageStatus
from messaging.tests.factories import MessageFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


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


def test_a_campaign_links_to_its_recipients_outcomes(staff_client):
    campaign = CampaignFactory(name="Bahar")
    CampaignRecipientFactory(campaign=campaign, lead=LeadFactory(name="Alıcı Bir"), outcome="skipped_no_phone")
    CampaignRecipientFactory(lead=LeadFactory(name="Başka Kampanyada"))
    recipients = reverse("admin:campaigns_campaignrecipient_changelist") + f"?campaign__id__exact={campaign.pk}"
    page = staff_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert f'href="{recipients}"' in page.replace("&amp;", "&")
    listed = staff_client.get(recipients).context["cl"].result_list
    assert [recipient.lead.name for recipient in listed] == ["Alıcı Bir"]


def test_a_campaign_finished_without_some_delivery_reports_says_how_many(staff_client):
    campaign = CampaignFactory(status="done", finished_at=timezone.now())
    for status in (MessageStatus.DELIVERED, MessageStatus.SENT):
        CampaignRecipientFactory(campaign=campaign, message=MessageFactory(status=status, bulk=True), outcome="queued")
    page = staff_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "Finished before every delivery report came: 1 still without one." in page

    running = CampaignFactory(status="running")
    CampaignRecipientFactory(campaign=running, message=MessageFactory(status="sent", bulk=True), outcome="queued")
    page = staff_client.get(reverse("admin:campaigns_campaign_change", args=[running.pk])).content.decode()
    assert "Finished before every delivery report came" not in page
