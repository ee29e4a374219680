import factory

from conversations.models import Conversation
from leads.tests.factories import LeadFactory


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    lead = factory.SubFactory(LeadFactory)
