"""What the conversation tells about the lead and the team: the panel's summary (channel, opt-out, window,
assignee), who sent each of our messages, and the agent's availability for conversations given out in turn."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserPreference
from accounts.roles import AGENTS
from conversations.models import Conversation
from conversations.services import conversations_assign
from leads.tests.factories import LeadFactory
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ayse(user_in_role):
    return user_in_role("ayse", AGENTS, first_name="Ayşe", last_name="Yıldız")


@pytest.fixture
def agent(ayse):
    client = Client()
    client.force_login(ayse)
    return client


def test_the_panel_sums_up_channel_opt_out_window_and_assignee(agent, ayse):
    lead = LeadFactory()
    InboundMessageFactory(lead=lead, created_at=timezone.now() - datetime.timedelta(hours=2))
    lead_activity_refresh(lead=lead)
    url = reverse("inbox:conversation", args=[lead.pk])
    page = agent.get(url).content.decode()
    assert 'id="lead-summary"' in page and "Open until" in page and "Nobody's" in page
    conversations_assign(conversations=[Conversation.objects.get(lead=lead)], assignee=ayse)
    lead.opted_out_at = timezone.now()
    lead.save()
    state = agent.get(reverse("inbox:conversation-state", args=[lead.pk])).content.decode()  # re-read live
    assert 'id="lead-summary"' in state and "Opted out on" in state and "Ayşe Yıldız" in state


def test_our_bubbles_name_the_agent_who_sent_them_or_the_campaign(agent, ayse, django_assert_max_num_queries):
    lead = LeadFactory()
    InboundMessageFactory(lead=lead, body="merhaba", created_at=timezone.now() - datetime.timedelta(minutes=3))
    MessageFactory(lead=lead, body="agent", sent_by=ayse, created_at=timezone.now() - datetime.timedelta(minutes=2))
    MessageFactory(lead=lead, body="kampanya", bulk=True, created_at=timezone.now() - datetime.timedelta(minutes=1))
    lead_activity_refresh(lead=lead)
    page = agent.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert '<span class="sender">Ayşe Yıldız</span>' in page and '<span class="sender">Campaign</span>' in page
    assert page.count('class="sender"') == 2  # the lead's own message names nobody


def test_the_availability_toggle_only_where_conversations_are_given_out(agent, ayse, settings):
    settings.INBOX_AUTO_ASSIGN = False
    assert 'id="availability"' not in agent.get(reverse("inbox:index")).content.decode()
    settings.INBOX_AUTO_ASSIGN = True
    page = agent.get(reverse("inbox:index")).content.decode()
    assert "Away: no new conversations" in page
    response = agent.post(reverse("inbox:availability"), {"available": "1"}, HTTP_HX_REQUEST="true")
    assert "Available for new conversations" in response.content.decode()
    assert UserPreference.objects.get(user=ayse).is_available is True
    agent.post(reverse("inbox:availability"), {"available": "0"})
    assert UserPreference.objects.get(user=ayse).is_available is False
