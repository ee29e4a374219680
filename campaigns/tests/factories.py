import factory

from campaigns.models import Campaign, CampaignRecipient
from leads.tests.factories import LeadFactory
from templates_app.tests.factories import TemplateFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Kampanya {n}")
    template = factory.SubFactory(TemplateFactory)


class CampaignRecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignRecipient

    campaign = factory.SubFactory(CampaignFactory)
    lead = factory.SubFactory(LeadFactory)
