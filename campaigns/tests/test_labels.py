"""A campaign's audience by label: every lead with it, or a stage's leads with it; the same through the service,
the API's create and dry run and the command."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.roles import OPERATORS
from campaigns.models import Campaign
from campaigns.services import campaign_create, campaign_dry_run
from leads.tests.factories import LabelFactory, LeadFactory, StageFactory
from messaging.services.outbound import SendRefused
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience():
    vip, stage = LabelFactory(name="VIP"), StageFactory(name="Teklif")
    in_stage = LeadFactory.create_batch(2, stage=stage)
    elsewhere = LeadFactory()
    LeadFactory(stage=stage)  # in the stage, without the label
    for lead in (*in_stage, elsewhere):
        lead.labels.add(vip)
    return vip, stage, in_stage, elsewhere


def test_a_label_campaign_sends_to_every_lead_with_it_and_with_a_stage_to_those_of_the_stage(outbox, run, audience):
    vip, stage, in_stage, elsewhere = audience
    template = TemplateFactory(content="Merhaba {{1}}")
    with run():
        campaign_create(name="VIP", template=template, label=vip)
    assert sorted(m.to for m in outbox) == sorted(lead.phone for lead in (*in_stage, elsewhere))
    outbox.clear()
    assert campaign_dry_run(template=template, stage=stage, label=vip)["total"] == 2
    with run():
        campaign_create(name="VIP teklif", template=template, stage=stage, label=vip)
    assert sorted(m.to for m in outbox) == sorted(lead.phone for lead in in_stage)
    with pytest.raises(SendRefused, match="a stage or a label"):
        campaign_create(name="Kimse", template=template)


def test_the_api_and_the_command_take_a_label(client, user_in_role, outbox, run, audience):
    vip, stage, in_stage, _ = audience
    template = TemplateFactory(name="vip_kampanya", content="Merhaba {{1}}")
    client.force_login(user_in_role("operator", OPERATORS, is_staff=True))
    body = {"template": str(template.pk), "label": str(vip.pk), "stage": str(stage.pk)}
    dry = client.post(reverse("api:v1:campaign-dry-run"), body, content_type="application/json")
    assert dry.status_code == 200 and dry.json()["total"] == 2
    both = {**body, "lead_ids": [str(in_stage[0].pk)]}
    refused = client.post(reverse("api:v1:campaign-list"), both, content_type="application/json")
    assert refused.status_code == 400 and "lead_ids" in str(refused.json())
    with run():
        call_command("send_campaign", "--template", "vip_kampanya", "--label", "vip")
    assert Campaign.objects.get().recipients.count() == 3
    with pytest.raises(CommandError, match="No label 'yok'"):
        call_command("send_campaign", "--template", "vip_kampanya", "--label", "yok")
