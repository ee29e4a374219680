"""The inbox's conversation views and controls over HTTP: Mine / Unassigned / All with counts, open by default,
take / assign / resolve / snooze / reopen on one conversation and on those ticked, each needing its permission."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS
from conversations.models import Conversation
from conversations.services import conversations_assign, conversations_resolve
from leads.tests.factories import LeadFactory
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory

pytestmark = pytest.mark.django_db

INBOX = reverse("inbox:index")
Status = Conversation.Status


def talking(name: str) -> Conversation:
    lead = LeadFactory(name=name)
    InboundMessageFactory(lead=lead, body=f"{name} yazdı", created_at=timezone.now())
    lead_activity_refresh(lead=lead)
    return Conversation.objects.get(lead=lead)


@pytest.fixture
def ayse(user_in_role):
    return user_in_role("ayse", AGENTS, first_name="Ayşe")


@pytest.fixture
def client_of(client, ayse):
    client.force_login(ayse)
    return client


def names(response) -> list[str]:
    return [lead.name for lead in response.context["rows"]]


def test_views_show_whose_conversations_with_counts_and_open_ones_by_default(client_of, ayse, user_in_role):
    deniz = user_in_role("deniz", AGENTS)
    mine, theirs, nobodys, done = talking("Benim"), talking("Onun"), talking("Kimsenin"), talking("Biten")
    conversations_assign(conversations=[mine], assignee=ayse)
    conversations_assign(conversations=[theirs], assignee=deniz)
    conversations_resolve(conversations=[done])
    response = client_of.get(INBOX)
    assert sorted(names(response)) == ["Benim", "Kimsenin", "Onun"]  # open ones, everyone's
    assert [(value, count) for value, _, count in response.context["view_tabs"]] == [
        ("mine", 1),
        ("unassigned", 1),
        ("all", 3),
        ("mentions", 0),
    ]
    assert names(client_of.get(INBOX, {"view": "mine"})) == ["Benim"]
    assert names(client_of.get(INBOX, {"view": "unassigned"})) == ["Kimsenin"]
    assert names(client_of.get(INBOX, {"status": "resolved"})) == ["Biten"]
    assert sorted(names(client_of.get(INBOX, {"status": "all"}))) == ["Benim", "Biten", "Kimsenin", "Onun"]
    assert nobodys.pk
    page = client_of.get(INBOX, {"view": "nobody", "status": "closed"})
    assert page.status_code == 200 and len(page.context["filter_errors"]) == 2  # told, not a server error


def test_the_inbox_query_count_holds_for_every_view(client_of, ayse, django_assert_max_num_queries):
    for n in range(12):
        conversation = talking(f"Lead {n}")
        if n % 2:
            conversations_assign(conversations=[conversation], assignee=ayse)
    client_of.get(INBOX)
    for view in ("mine", "unassigned", "all", "mentions"):
        with django_assert_max_num_queries(10):
            response = client_of.get(INBOX, {"view": view})
        assert response.status_code == 200


def test_take_resolve_snooze_and_reopen_from_the_conversation(client_of, ayse):
    conversation = talking("Elif")
    url = reverse("inbox:conversation-change", args=[conversation.lead_id])
    page = client_of.post(url, {"action": "take"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="assignee">Ayşe<' in page
    client_of.post(url, {"action": "snooze", "snooze": "tomorrow"}, HTTP_HX_REQUEST="true")
    conversation.refresh_from_db()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert conversation.status == Status.SNOOZED
    assert timezone.localtime(conversation.snoozed_until).date() == tomorrow
    assert timezone.localtime(conversation.snoozed_until).time() == datetime.time(9, 0)
    client_of.post(url, {"action": "resolve"}, HTTP_HX_REQUEST="true")
    conversation.refresh_from_db()
    assert conversation.status == Status.RESOLVED
    page = client_of.post(url, {"action": "resolve"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No conversation to change" in page  # a second resolve says so
    client_of.post(url, {"action": "reopen"}, HTTP_HX_REQUEST="true")
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN


def test_a_snooze_needs_a_time_to_come(client_of):
    conversation = talking("Elif")
    url = reverse("inbox:conversation-change", args=[conversation.lead_id])
    past = (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    for data, said in (
        ({"until": past}, "Snooze until a time in the future."),
        ({"until": "yarın"}, "Choose until when to snooze."),
        ({}, "Choose until when to snooze."),
    ):
        page = client_of.post(url, {"action": "snooze", **data}, HTTP_HX_REQUEST="true").content.decode()
        assert said in page
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN


def test_bulk_assign_and_resolve_the_ticked_conversations(client_of, ayse):
    first, second, other = talking("Bir"), talking("İki"), talking("Üç")
    url = reverse("inbox:conversations-change")
    leads = [str(first.lead_id), str(second.lead_id)]
    response = client_of.post(url, {"action": "assign", "assignee": ayse.pk, "lead": leads}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert set(Conversation.objects.filter(assignee=ayse).values_list("pk", flat=True)) == {first.pk, second.pk}
    client_of.post(url, {"action": "resolve", "lead": leads, "list_query": "view=mine"}, HTTP_HX_REQUEST="true")
    assert set(Conversation.objects.filter(status=Status.RESOLVED).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    other.refresh_from_db()
    assert other.status == Status.OPEN
    page = client_of.post(url, {"action": "assign", "assignee": "9999", "lead": [str(other.lead_id)]})
    assert page.status_code == 302  # without htmx: back to the list, the reason as a message
    assert Conversation.objects.get(pk=other.pk).assignee is None


def test_changing_a_conversation_needs_its_permission(client, user_in_role, django_user_model):
    conversation = talking("Elif")
    url = reverse("inbox:conversation-change", args=[conversation.lead_id])
    assert client.post(url, {"action": "take"}).status_code == 302  # to the login
    reader = django_user_model.objects.create_user(username="okur")
    reader.user_permissions.add(*Permission.objects.filter(codename__in=["view_lead", "view_message"]))
    client.force_login(reader)
    assert client.get(INBOX).status_code == 200
    assert client.post(url, {"action": "take"}).status_code == 403
    assert client.post(reverse("inbox:conversations-change"), {"action": "resolve"}).status_code == 403
    assert 'id="take"' not in client.get(reverse("inbox:conversation", args=[conversation.lead_id])).content.decode()
    assert Conversation.objects.get().assignee is None


def test_a_views_list_is_not_counted_twice_but_a_filtered_one_is(client_of, ayse):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.tests.factories import LabelFactory

    conversations = [talking(f"Lead {n}") for n in range(3)]
    conversations_assign(conversations=conversations[:2], assignee=ayse)
    label = LabelFactory()
    conversations[0].lead.labels.add(label)

    def lead_counts(params):
        with CaptureQueriesContext(connection) as queries:
            response = client_of.get(INBOX, params)
        counted = [q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(*)") and "leads_lead" in q["sql"]]
        return response.context["rows"].paginator.count, len(counted)

    assert lead_counts({"view": "mine"}) == (2, 0)  # the view's own count, read with the tabs
    assert lead_counts({"view": "unassigned"}) == (1, 0)
    assert lead_counts({"view": "mine", "label": str(label.pk)}) == (1, 1)  # filtered: counted
    assert lead_counts({"view": "all", "status": "resolved"}) == (0, 1)


def test_a_filtered_list_counts_no_further_than_it_must(client_of, ayse, monkeypatch):
    from leads.tests.factories import LabelFactory
    from messaging.inbox import selectors, views

    monkeypatch.setattr(selectors, "COUNT_AT_MOST", 40)
    monkeypatch.setattr(views, "INBOX_PAGE_SIZE", 10)
    label = LabelFactory()
    for n in range(45):
        talking(f"Lead {n}").lead.labels.add(label)
    first = client_of.get(INBOX, {"label": str(label.pk)})
    paginator = first.context["rows"].paginator
    assert (paginator.count, paginator.capped, paginator.num_pages) == (40, True, 4)  # 40 counted, more beyond
    assert "1 / 4+" in first.content.decode()
    fifth = client_of.get(INBOX, {"label": str(label.pk), "page": "5"})
    assert fifth.context["rows"].number == 5 and len(fifth.context["rows"]) == 5  # the count follows the page
    assert fifth.context["rows"].paginator.capped is False
