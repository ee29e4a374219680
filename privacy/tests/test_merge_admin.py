"""Merging in the admin: the likely duplicates listed side by side, the action on two selected leads, the merge
page (which lead to keep), the lead's page naming its duplicates, the receipt naming the kept lead."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from conversations.tests.factories import ConversationFactory
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from privacy.models import ErasureReceipt

pytestmark = pytest.mark.django_db

LIST = "/admin/leads/lead/"


def merge_url(lead, other=None) -> str:
    url = reverse("admin:leads_lead_merge", args=[lead.pk])
    return f"{url}?other={other.pk}" if other else url


@pytest.fixture
def pair():
    """One person twice: her number in two forms (the same last 10 digits), and someone else."""
    first = LeadFactory(name="Ayşe Yılmaz", phone="+905551234567")
    InboundMessageFactory(lead=first)
    second = LeadFactory(name="Ayşe", phone="+15551234567")
    MessageFactory(lead=second)
    InboundMessageFactory(lead=second)
    ConversationFactory(lead=second)
    LeadFactory(name="Mehmet Demir", phone="+905557654321")
    return first, second


def test_the_likely_duplicates_are_listed_next_to_each_other(staff_client, pair):
    LeadFactory(name="Zeynep Ak", phone="+905550000001")
    LeadFactory(name="ZEYNEP AK", phone="+905550000002")
    by_phone = staff_client.get(LIST, {"duplicates": "phone"})
    assert list(by_phone.context["cl"].result_list) == sorted(pair, key=lambda lead: lead.created_at, reverse=True)
    by_name = staff_client.get(LIST, {"duplicates": "name"})
    names = [lead.name for lead in by_name.context["cl"].result_list]
    assert sorted(names) == ["ZEYNEP AK", "Zeynep Ak"]
    assert "Same last 10 digits" in by_phone.content.decode()


def test_the_action_on_two_selected_leads_opens_the_merge_page(staff_client, pair):
    first, second = pair
    data = {"action": "merge_leads", "_selected_action": [str(first.pk), str(second.pk)]}
    response = staff_client.post(LIST, data)
    assert response.status_code == 302 and response.url == merge_url(first, second)
    one = staff_client.post(LIST, {**data, "_selected_action": [str(first.pk)]}, follow=True)
    assert "Select exactly two leads to merge." in one.content.decode()


def test_the_merge_page_compares_them_and_merges_into_the_one_kept(
    staff_client, pair, django_capture_on_commit_callbacks
):
    first, second = pair
    page = staff_client.get(merge_url(first, second))
    assert page.status_code == 200
    compared = {lead.pk: (lead.message_count, lead.conversation_count) for lead in page.context["compared"]}
    assert compared == {first.pk: (1, 0), second.pk: (2, 1)}
    assert "This cannot be undone." in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(merge_url(first), {"other": str(second.pk), "keep": "other"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:leads_lead_change", args=[second.pk])
    assert not Lead.objects.filter(pk=first.pk).exists()
    assert Lead.objects.get(pk=second.pk).messages.count() == 3
    receipt = ErasureReceipt.objects.get()
    text = response.content.decode()
    assert (
        "Ayşe Yılmaz was merged into Ayşe." in text
        and reverse("admin:privacy_erasurereceipt_change", args=[receipt.pk]) in text
    )

    shown = staff_client.get(reverse("admin:privacy_erasurereceipt_change", args=[receipt.pk])).content.decode()
    assert reverse("admin:leads_lead_change", args=[second.pk]) in shown
    assert "1 messages, 0 conversations, 0 private notes, 0 labels, 0 campaign recipients" in shown
    listed = staff_client.get(reverse("admin:privacy_erasurereceipt_changelist"), {"merged_into__isempty": "0"})
    assert list(listed.context["cl"].result_list) == [receipt]


def test_a_lead_not_offered_or_gone_meanwhile_is_a_form_error(staff_client, pair):
    first, second = pair
    stranger = LeadFactory(name="Mehmet Yıldız", phone="+905550001111")
    refused = staff_client.post(merge_url(first), {"other": "not-a-lead", "keep": "this"})
    assert refused.status_code == 400 and refused.context["form"].errors["other"]
    chosen = staff_client.post(merge_url(first), {"other": str(stranger.pk), "keep": "sideways"})
    assert chosen.status_code == 400 and chosen.context["form"].errors["keep"]
    page = staff_client.get(merge_url(first, second))
    Lead.objects.filter(pk=second.pk).delete()  # merged by someone else meanwhile
    gone = staff_client.post(merge_url(first), {"other": str(second.pk), "keep": "this"})
    assert page.status_code == 200 and gone.status_code == 400
    assert Lead.objects.filter(pk=first.pk).exists() and not ErasureReceipt.objects.exists()


def test_any_two_selected_leads_can_be_merged_not_only_likely_duplicates(
    staff_client, django_capture_on_commit_callbacks
):
    first, second = LeadFactory(name="Ayşe Yılmaz"), LeadFactory(name="Ayşe Kaya")
    assert staff_client.get(merge_url(first)).context["compared"] == [first]  # no likely duplicate
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(merge_url(first), {"other": str(second.pk), "keep": "this"})
    assert response.status_code == 302 and not Lead.objects.filter(pk=second.pk).exists()


def test_the_leads_page_names_its_likely_duplicates_with_a_merge_link(staff_client, pair):
    first, second = pair
    page = staff_client.get(reverse("admin:leads_lead_change", args=[first.pk])).content.decode()
    assert "Likely duplicates" in page and f"{merge_url(first)}?other={second.pk}" in page
    alone = LeadFactory(name="Tek Başına", phone="+905550002222")
    page = staff_client.get(reverse("admin:leads_lead_change", args=[alone.pk])).content.decode()
    assert "None: no other lead has the same last 10 digits or the same name." in page


def test_merging_needs_the_merge_permission(operator_client, django_user_model, pair):
    from django.contrib.auth.models import Group

    from accounts.roles import OPERATORS

    first, second = pair
    merge_perm = Permission.objects.get(content_type__app_label="privacy", codename="merge_lead")
    Group.objects.get(name=OPERATORS).permissions.remove(merge_perm)  # the role grants it: a group without it
    assert "merge_leads" not in operator_client.get(LIST).context["action_form"].fields["action"].choices.__str__()
    assert operator_client.get(merge_url(first, second)).status_code == 403
    page = operator_client.get(reverse("admin:leads_lead_change", args=[first.pk])).content.decode()
    assert "Likely duplicates" not in page
    operator = django_user_model.objects.get(username="operator")
    operator.user_permissions.add(merge_perm)
    assert operator_client.get(merge_url(first, second)).status_code == 200
    choices = dict(operator_client.get(LIST).context["action_form"].fields["action"].choices)
    assert "merge_leads" in choices
