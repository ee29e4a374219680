"""What campaigns do to the agents' inbox: a campaign's message moves its conversation as any other send does."""

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.services import campaign_create
from leads.tests.factories import LeadFactory
from messaging.inbox.tests.test_views import INBOX, conversation_with
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(agent_client):
    """A member of the Agents group (conftest.py), as in the inbox's tests."""
    return agent_client


def test_our_replies_move_the_conversation_whichever_way_they_are_sent(agent, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    leads = [conversation_with(LeadFactory(name=f"Sohbet {n}"), "merhaba", hours_ago=5 - n) for n in range(4)]
    template = TemplateFactory(content="Merhaba {{1}}")
    send = reverse("inbox:send", args=[leads[0].pk])
    png = SimpleUploadedFile("salon.png", b"\x89PNG\r\n\x1a\n" + b"0" * 200, content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        agent.post(send, {"body": "Metinle cevap"}, HTTP_HX_REQUEST="true")
        agent.post(reverse("inbox:send", args=[leads[1].pk]), {"send-template": "1", "template": str(template.pk)})
        agent.post(reverse("inbox:send", args=[leads[2].pk]), {"file": png, "body": ""})
        campaign_create(name="Kampanya", template=template, leads=[leads[3]])
    for lead in leads:
        lead.refresh_from_db()
        newest = lead.messages.order_by("-created_at").first()
        assert not newest.is_from_lead and lead.last_message_at == newest.created_at, lead.name
    rows = agent.get(INBOX).content.decode()
    order = sorted(leads, key=lambda lead: lead.last_message_at, reverse=True)
    assert [rows.index(lead.name) for lead in order] == sorted(rows.index(lead.name) for lead in order)
    assert rows.index("Sohbet 3") < rows.index("You: Metinle cevap")  # the campaign's went last, so it is first
    assert f'<time datetime="{timezone.localtime(leads[3].last_message_at):%Y-%m-%dT%H:%M}' in rows
