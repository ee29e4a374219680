"""Private notes in the conversation page: written from the note tab, shown among the messages of their time on
exactly one page of the thread, escaped; the Mentions view lists where an agent is named until they look."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS
from conversations.models import Mention, Note
from conversations.services import note_add
from leads.tests.factories import LeadFactory
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory

pytestmark = pytest.mark.django_db

INBOX = reverse("inbox:index")


@pytest.fixture
def ayse(user_in_role):
    return user_in_role("ayse", AGENTS, first_name="Ayşe")


@pytest.fixture
def deniz(user_in_role):
    return user_in_role("deniz", AGENTS, first_name="Deniz")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def lead_with_messages(count: int, *, start: datetime.datetime):
    lead = LeadFactory(name="Elif")
    messages = [
        InboundMessageFactory(lead=lead, body=f"mesaj {n}", created_at=start + datetime.timedelta(minutes=n))
        for n in range(count)
    ]
    lead_activity_refresh(lead=lead)
    return lead, messages


def note_at(lead, author, body, at) -> Note:
    note = note_add(lead=lead, author=author, body=body)
    Note.objects.filter(pk=note.pk).update(created_at=at)
    note.refresh_from_db()
    return note


def test_a_note_written_in_the_page_is_shown_in_the_thread_and_never_sent(ayse, deniz):
    start = timezone.now() - datetime.timedelta(hours=1)
    lead, _ = lead_with_messages(2, start=start)
    url = reverse("inbox:note-create", args=[lead.pk])
    posted = client_for(ayse).post(url, {"body": "<b>VIP</b> @deniz arar mısın?"}, HTTP_HX_REQUEST="true")
    html = posted.content.decode()
    assert 'class="bubble note"' in html
    assert "&lt;b&gt;VIP&lt;/b&gt;" in html and "<b>VIP" not in html
    assert '<span class="mention">@deniz</span>' in html
    note = Note.objects.get()
    assert note.author == ayse and Mention.objects.get().user == deniz
    assert lead.messages.count() == 2  # nothing was sent
    page = client_for(ayse).get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert page.index("mesaj 1") < page.index(f'id="note-{note.pk}"')  # after the messages before it
    live = client_for(deniz).get(reverse("inbox:note", args=[lead.pk, note.pk])).content.decode()
    assert f'id="note-{note.pk}"' in live and "Ayşe" in live


def test_a_refused_note_says_why_where_the_note_composer_shows_it(ayse):
    lead, _ = lead_with_messages(1, start=timezone.now())
    response = client_for(ayse).post(
        reverse("inbox:note-create", args=[lead.pk]), {"body": "  "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response["HX-Retarget"] == "#note-error"
    assert "Write the note first" in response.content.decode() or "önce" in response.content.decode()
    assert not Note.objects.exists()


def test_writing_a_note_needs_its_permission(ayse, django_user_model):
    lead, _ = lead_with_messages(1, start=timezone.now())
    reader = django_user_model.objects.create_user(username="okur")
    reader.user_permissions.add(*Permission.objects.filter(codename__in=["view_lead", "view_message", "view_note"]))
    url = reverse("inbox:note-create", args=[lead.pk])
    assert client_for(reader).post(url, {"body": "merhaba"}).status_code == 403
    page = client_for(reader).get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert 'id="note-form"' not in page and 'id="tab-note"' not in page
    assert 'id="note-form"' in client_for(ayse).get(reverse("inbox:conversation", args=[lead.pk])).content.decode()


def test_every_note_is_on_exactly_one_page_of_the_thread(ayse):
    start = timezone.now() - datetime.timedelta(days=1)
    lead, messages = lead_with_messages(45, start=start)  # pages of 30: the newest 30, then 15
    oldest_page_note = note_at(lead, ayse, "en eski", start - datetime.timedelta(minutes=5))
    boundary = messages[15].created_at  # the newest page's oldest message
    on_boundary = note_at(lead, ayse, "sınırda", boundary)
    older = note_at(lead, ayse, "eski sayfada", boundary - datetime.timedelta(seconds=1))
    newest = note_at(lead, ayse, "en yeni", timezone.now())
    client = client_for(ayse)
    url = reverse("inbox:conversation", args=[lead.pk])
    first = client.get(url).context["thread"]
    assert first.older_than == messages[15]
    assert [e.pk for e in first.entries if e.is_note] == [on_boundary.pk, newest.pk]
    second = client.get(url, {"before": str(messages[15].pk)}, HTTP_HX_REQUEST="true").context["thread"]
    assert second.older_than is None
    assert [e.pk for e in second.entries if e.is_note] == [oldest_page_note.pk, older.pk]
    assert second.entries[0] == oldest_page_note and second.entries[-1] == older


def test_the_conversation_page_reads_as_many_queries_with_notes_as_without(ayse, django_assert_num_queries):
    start = timezone.now() - datetime.timedelta(hours=2)
    lead, _ = lead_with_messages(5, start=start)
    client = client_for(ayse)
    url = reverse("inbox:conversation", args=[lead.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as without:
        response = client.get(url)
    assert response.status_code == 200
    count = len(without)  # now: the next request empties the log it reads
    for n in range(12):
        note_at(lead, ayse, f"not {n} @ayse", start + datetime.timedelta(minutes=n))
    client.get(url)
    with django_assert_num_queries(count):
        client.get(url)


def test_the_mentions_view_lists_where_an_agent_is_named_until_they_open_it(ayse, deniz):
    start = timezone.now() - datetime.timedelta(hours=1)
    named, _ = lead_with_messages(1, start=start)
    other, _ = lead_with_messages(1, start=start)
    note_add(lead=named, author=ayse, body="@deniz bakar mısın")
    note_add(lead=other, author=deniz, body="@ayse")
    client = client_for(deniz)
    response = client.get(INBOX, {"view": "mentions"})
    assert [lead.pk for lead in response.context["rows"]] == [named.pk]
    assert dict((v, c) for v, _, c in response.context["view_tabs"])["mentions"] == 1
    client.get(reverse("inbox:conversation", args=[named.pk]))
    response = client.get(INBOX, {"view": "mentions"})
    assert list(response.context["rows"]) == []
    assert dict((v, c) for v, _, c in response.context["view_tabs"])["mentions"] == 0
