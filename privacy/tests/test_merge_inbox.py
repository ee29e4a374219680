"""Merging from the inbox's lead panel: who may merge sees the open lead's likely duplicates, and merges one of them
into the open lead (privacy's view, privacy's service); the page then shows the kept lead with everything."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.roles import AGENTS
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.tests.factories import InboundMessageFactory
from privacy.models import ErasureReceipt

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def merging_agent(client, user_in_role):
    """An agent who may merge leads (the Agents role does not hold that permission)."""
    agent = user_in_role("agent", AGENTS)
    agent.user_permissions.add(Permission.objects.get(content_type__app_label="privacy", codename="merge_lead"))
    client.force_login(agent)
    return client


@pytest.fixture
def pair():
    open_lead = LeadFactory(name="Ayşe Yılmaz", phone="+905551234567")
    InboundMessageFactory(lead=open_lead, body="Merhaba")
    duplicate = LeadFactory(name="ayse yilmaz", phone="+905559876543")
    InboundMessageFactory(lead=duplicate, body="Salon boş mu?")
    return open_lead, duplicate


def merge_url(lead) -> str:
    return reverse("privacy:lead-merge", args=[lead.pk])


def test_the_panel_lists_the_likely_duplicates_with_a_merge_control(merging_agent, pair):
    open_lead, duplicate = pair
    page = merging_agent.get(reverse("inbox:conversation", args=[open_lead.pk]))
    assert [lead.pk for lead in page.context["duplicates"]] == [duplicate.pk]
    text = page.content.decode()
    assert "Likely duplicates" in text and f'action="{merge_url(open_lead)}"' in text
    assert f'name="other" value="{duplicate.pk}"' in text


def test_an_agent_without_the_permission_sees_no_merge_and_may_not_post_one(agent_client, pair):
    from django.contrib.auth.models import Group, Permission

    from accounts.roles import AGENTS

    open_lead, duplicate = pair
    Group.objects.get(name=AGENTS).permissions.remove(Permission.objects.get(codename="merge_lead"))
    page = agent_client.get(reverse("inbox:conversation", args=[open_lead.pk]))
    assert page.context["duplicates"] == [] and "Likely duplicates" not in page.content.decode()
    assert agent_client.post(merge_url(open_lead), {"other": str(duplicate.pk)}).status_code == 403
    assert Lead.objects.filter(pk=duplicate.pk).exists()


def test_merging_a_duplicate_into_the_open_lead_reloads_its_conversation(
    merging_agent, pair, django_capture_on_commit_callbacks
):
    open_lead, duplicate = pair
    with django_capture_on_commit_callbacks(execute=True):
        response = merging_agent.post(merge_url(open_lead), {"other": str(duplicate.pk)}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("inbox:conversation", args=[open_lead.pk])
    assert not Lead.objects.filter(pk=duplicate.pk).exists()
    receipt = ErasureReceipt.objects.get()
    assert (receipt.merged_into, receipt.via, receipt.moved["messages"]) == (open_lead.pk, "inbox", 1)
    page = merging_agent.get(response["HX-Redirect"]).content.decode()
    assert "Salon boş mu?" in page and "ayse yilmaz was merged into Ayşe Yılmaz" in page


def test_a_duplicate_gone_meanwhile_is_said_in_the_panel(merging_agent, pair):
    open_lead, duplicate = pair
    Lead.objects.filter(pk=duplicate.pk).delete()
    response = merging_agent.post(merge_url(open_lead), {"other": str(duplicate.pk)}, **HTMX)
    assert (response.status_code, response["HX-Retarget"]) == (200, "#merge-error")
    assert "erased or merged meanwhile" in response.content.decode()
    plain = merging_agent.post(merge_url(open_lead), {"other": "nonsense"}, follow=True)
    assert plain.redirect_chain[-1][0] == reverse("inbox:conversation", args=[open_lead.pk])
    assert "erased or merged meanwhile" in plain.content.decode()


def test_the_open_lead_with_itself_is_refused(merging_agent, pair):
    open_lead, _ = pair
    response = merging_agent.post(merge_url(open_lead), {"other": str(open_lead.pk)}, **HTMX)
    assert "cannot be merged with itself" in response.content.decode()
    assert Lead.objects.filter(pk=open_lead.pk).exists() and not ErasureReceipt.objects.exists()


def test_saving_the_details_keeps_the_duplicates_in_the_panel(merging_agent, pair):
    open_lead, duplicate = pair
    data = {"name": "Ayşe Yılmaz", "phone": open_lead.phone, "email": "", "stage": str(open_lead.stage_id)}
    response = merging_agent.post(reverse("inbox:lead-details", args=[open_lead.pk]), data, **HTMX)
    assert response.status_code == 200 and f'value="{duplicate.pk}"' in response.content.decode()
