"""Labels in the inbox: on the rows and the conversation, a filter of the list, put on and taken off from the
lead's panel and on the ticked rows, each needing the right to edit leads."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS
from leads.models import LabelColour
from leads.tests.factories import LabelFactory, LeadFactory
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db

INBOX = reverse("inbox:index")


def talking(name: str):
    lead = LeadFactory(name=name)
    InboundMessageFactory(lead=lead, body=f"{name} yazdı", created_at=timezone.now())
    lead_activity_refresh(lead=lead)
    return lead


@pytest.fixture
def agent(user_in_role):
    client = Client()
    client.force_login(user_in_role("ayse", AGENTS))
    return client


@pytest.fixture
def reader(django_user_model):
    user = django_user_model.objects.create_user(username="okur")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_lead", "view_message"]))
    client = Client()
    client.force_login(user)
    return client


def names(response) -> list[str]:
    return [lead.name for lead in response.context["rows"]]


def test_the_list_shows_labels_and_filters_by_one(agent):
    vip = LabelFactory(name="<i>VIP</i>", colour=LabelColour.RED)
    elif_, mert = talking("Elif"), talking("Mert")
    elif_.labels.add(vip)
    page = agent.get(INBOX)
    html = page.content.decode()
    assert '<span class="label-chip label-red">&lt;i&gt;VIP&lt;/i&gt;</span>' in html
    assert names(agent.get(INBOX, {"label": str(vip.pk)})) == ["Elif"]
    assert sorted(names(agent.get(INBOX))) == ["Elif", "Mert"]
    refused = agent.get(INBOX, {"label": "yok"})
    assert refused.status_code == 200 and refused.context["filter_errors"]  # told, the list still shown
    assert mert.pk


def test_the_panel_puts_a_label_on_and_takes_it_off_and_every_page_hears_of_it(agent):
    vip = LabelFactory(name="VIP")
    lead = talking("Elif")
    url = reverse("inbox:lead-labels", args=[lead.pk])
    response = agent.post(url, {"add": str(vip.pk)}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "conversation-changed" in response["HX-Trigger"]
    assert 'aria-pressed="true"' in response.content.decode()
    assert list(lead.labels.all()) == [vip]
    assert Event.objects.filter(type=Event.Type.LEAD_CHANGED, lead=lead).count() == 1
    page = agent.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert 'id="head-labels"' in page and ">VIP<" in page
    agent.post(url, {"remove": str(vip.pk)}, HTTP_HX_REQUEST="true")
    assert not lead.labels.exists()
    assert agent.post(url, {"add": "nope"}, HTTP_HX_REQUEST="true").status_code == 200  # nothing to do, no error
    assert not lead.labels.exists()


def test_labels_are_put_on_the_ticked_rows(agent):
    vip = LabelFactory(name="VIP")
    first, second, third = talking("A"), talking("B"), talking("C")
    url = reverse("inbox:conversations-change")
    agent.post(url, {"lead": [str(first.pk), str(second.pk)], "label": str(vip.pk), "action": "label_add"})
    assert set(vip.leads.all()) == {first, second}
    agent.post(url, {"lead": [str(second.pk)], "label": str(vip.pk), "action": "label_remove"})
    assert set(vip.leads.all()) == {first}
    page = agent.post(url, {"lead": [str(third.pk)], "action": "label_add"}, HTTP_HX_REQUEST="true")
    assert "Choose a label." in page.content.decode() or page.context["bulk_error"]
    assert set(vip.leads.all()) == {first}


def test_changing_labels_needs_the_right_to_edit_leads(reader):
    vip = LabelFactory(name="VIP")
    lead = talking("Elif")
    assert reader.post(reverse("inbox:lead-labels", args=[lead.pk]), {"add": str(vip.pk)}).status_code == 403
    page = reader.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert 'class="label-toggles"' not in page
    assert not lead.labels.exists()
