"""Starting a conversation and the composer around it: a lead found or made from a number in any form, the
channel chosen and remembered in the conversation, WhatsApp's window counted down, the best template one click
away when only a template may go, and a conversation left unread for later."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS
from conversations.models import Conversation
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.models import Message
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from templates_app.models import Template
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

START = reverse("inbox:start")


@pytest.fixture
def agent(user_in_role):
    client = Client()
    client.user = user_in_role("ayse", AGENTS, first_name="Ayşe")
    client.force_login(client.user)
    return client


def approved(name: str) -> Template:
    status = Template.ApprovalStatus.APPROVED
    return TemplateFactory(name=name, content=f"{name} {{{{1}}}}", content_sid=f"HX{name}", approval_status=status)


def test_a_new_number_in_any_form_makes_a_lead_and_opens_it_on_the_chosen_channel(agent):
    response = agent.post(START, {"phone": "0 (555) 123 45 67", "name": "Elif Kaya", "channel": "sms"})
    lead = Lead.objects.get()
    assert (lead.name, lead.phone) == ("Elif Kaya", "+905551234567")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('inbox:conversation', args=[lead.pk])}?via=sms"
    page = agent.get(response["Location"])
    assert page.context["channel"] == "sms" and page.context["can_type"] is True  # SMS: no window
    assert page.context["filters"]["channel"] == ""  # the list is not filtered by it
    again = agent.post(START, {"phone": "+90 555 123 4567", "name": "", "channel": "whatsapp"})
    assert Lead.objects.count() == 1 and again["Location"].startswith(reverse("inbox:conversation", args=[lead.pk]))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"phone": "not a number", "name": "X", "channel": "sms"}, "phone"),
        ({"phone": "+905551234567", "name": "  ", "channel": "sms"}, "name"),
        ({"phone": "+905551234567", "name": "X", "channel": "fax"}, "channel"),
        ({"phone": "\x00", "name": "X", "channel": "sms"}, "phone"),
    ],
)
def test_bad_input_is_a_form_error_and_makes_nothing(agent, data, field):
    response = agent.post(START, data)
    assert response.status_code == 400 and field in response.context["form"].errors
    assert not Lead.objects.exists()


def test_someone_known_is_found_by_name_or_number_even_without_messages(agent):
    quiet = LeadFactory(name="Zeynep Ak", phone="+905551110003")
    page = agent.get(START, {"q": "zeynep"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="start-matches")
    html = page.content.decode()
    assert reverse("inbox:conversation", args=[quiet.pk]) in html and "no messages yet" in html
    assert quiet in agent.get(START, {"q": "0555 111 00 03"}).context["found"]
    full = agent.get(reverse("inbox:conversation", args=[quiet.pk])).content.decode()
    assert "The lead has not written yet" in full  # WhatsApp: templates first


def test_starting_needs_the_right_to_add_a_lead_only_for_a_new_one(agent, django_user_model):
    from django.contrib.auth.models import Permission

    known = LeadFactory(phone="+905551110003")
    sender = django_user_model.objects.create_user(username="sender")
    sender.user_permissions.add(*Permission.objects.filter(codename__in=["view_lead", "view_message", "add_message"]))
    client = Client()
    client.force_login(sender)
    assert client.post(START, {"phone": "+905559998877", "name": "Yeni", "channel": "sms"}).status_code == 403
    assert client.post(START, {"phone": known.phone, "channel": "sms"}).status_code == 302
    assert Lead.objects.count() == 1


def test_the_channel_chosen_is_remembered_in_the_conversation_and_sends_go_on_it(agent, outbox):
    lead = LeadFactory()
    InboundMessageFactory(lead=lead, channel="whatsapp", created_at=timezone.now())
    lead_activity_refresh(lead=lead)
    response = agent.post(reverse("inbox:channel", args=[lead.pk]), {"channel": "sms"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Replies go by SMS." in response.content.decode()
    assert Conversation.objects.get(lead=lead).channel == "sms"
    page = agent.get(reverse("inbox:conversation", args=[lead.pk]))
    assert page.context["channel"] == "sms"  # for every agent, every time
    agent.post(reverse("inbox:send", args=[lead.pk]), {"body": "Merhaba"})
    assert Message.objects.filter(is_from_lead=False).get().channel == "sms"
    refused = agent.post(reverse("inbox:channel", args=[lead.pk]), {"channel": "fax"})
    assert refused.status_code == 400 and Conversation.objects.get(lead=lead).channel == "sms"


def test_a_new_lead_s_first_send_starts_its_conversation_on_that_channel(agent, outbox):
    lead = LeadFactory()
    agent.post(reverse("inbox:send", args=[lead.pk]), {"body": "Merhaba", "channel": "sms"})
    conversation = Conversation.objects.get(lead=lead)
    assert (conversation.channel, conversation.assignee, conversation.status) == ("sms", agent.user, "open")


def test_the_open_window_counts_down_and_a_closed_one_offers_the_best_template(agent):
    lead = LeadFactory()
    InboundMessageFactory(lead=lead, created_at=timezone.now() - datetime.timedelta(hours=20))
    lead_activity_refresh(lead=lead)
    page = agent.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert 'class="countdown"' in page and 'id="use-best-template"' not in page
    Lead.objects.filter(pk=lead.pk).update(last_inbound_at=timezone.now() - datetime.timedelta(hours=30))
    first, used = approved("acilis"), approved("hatirlatma")
    page = agent.get(reverse("inbox:conversation", args=[lead.pk]))
    assert page.context["best_template"] == first  # none sent to this lead yet: the first
    MessageFactory(lead=lead, template=used, body="hatirlatma")
    page = agent.get(reverse("inbox:conversation", args=[lead.pk]))
    assert page.context["best_template"] == used  # the last one it was sent
    assert f'data-template="{used.pk}"' in page.content.decode()


def test_mark_unread_leaves_it_for_later_for_the_whole_team(agent):
    lead = LeadFactory()
    InboundMessageFactory(lead=lead, created_at=timezone.now())
    lead_activity_refresh(lead=lead)
    agent.get(reverse("inbox:conversation", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.unread_count == 0
    response = agent.post(reverse("inbox:mark-unread", args=[lead.pk]), {"list_query": "view=mine"})
    assert response.status_code == 302 and response["Location"] == f"{reverse('inbox:index')}?view=mine"
    lead.refresh_from_db()
    assert lead.unread_count == 1
    assert agent.post(reverse("inbox:mark-unread", args=[lead.pk]), HTTP_HX_REQUEST="true").status_code == 204
