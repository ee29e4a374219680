"""Private notes: kept in the thread for the team, never sent; their @mentions notify the agents named."""

import pytest
from django.contrib.auth.models import Permission

from accounts.roles import AGENTS
from conversations.models import Mention, Note
from conversations.selectors import lead_notes_between, mentions_unseen_count
from conversations.services import ConversationRefused, mentions_seen, note_add, note_mentioned
from leads.tests.factories import LeadFactory
from messaging.models import Message
from notifications.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(user_in_role):
    return {
        "ayse": user_in_role("ayse", AGENTS, first_name="Ayşe"),
        "deniz": user_in_role("deniz.k", AGENTS, first_name="Deniz"),
    }


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user(username="omer")  # no role: cannot read conversations


def test_a_note_mentions_the_agents_it_names_and_tells_them(team, outsider):
    lead = LeadFactory(name="Elif")
    note = note_add(lead=lead, author=team["ayse"], body="  @Deniz.K. can you call her? @ayse @omer @nobody  ")
    assert note.body == "@Deniz.K. can you call her? @ayse @omer @nobody"
    assert not Message.objects.exists()  # nothing was sent
    # Case-insensitive, the sentence's full stop left out; the author and those outside the inbox are not told.
    assert [m.user for m in Mention.objects.filter(note=note)] == [team["deniz"]]
    event = Event.objects.get(type=Event.Type.NOTE_ADDED)
    assert event.lead_id == lead.pk and event.user_ids == []  # every open page shows the note
    assert event.payload["mentioned"] == [team["deniz"].pk]
    assert event.payload["author"] == "Ayşe" and event.payload["note_id"] == str(note.pk)
    assert mentions_unseen_count(user=team["deniz"]) == 1
    assert mentions_unseen_count(user=team["ayse"]) == 0


def test_a_mention_inside_a_word_or_an_address_is_not_one(team):
    agents = [team["ayse"], team["deniz"]]
    assert note_mentioned(body="mail ayse@example.com or x@ayse", agents=agents) == []
    assert note_mentioned(body="(@ayse) and @ayse again, @deniz.k-", agents=agents) == [team["ayse"], team["deniz"]]


def test_an_agent_who_can_no_longer_read_conversations_is_not_mentioned(team):
    team["deniz"].is_active = False
    team["deniz"].save()
    note = note_add(lead=LeadFactory(), author=team["ayse"], body="@deniz.k")
    assert not note.mentions.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [("", "empty"), ("   \n ", "empty"), ("x" * (Note.MAX_LENGTH + 1), "too_long")],
)
def test_an_empty_or_too_long_note_is_refused_and_nothing_is_kept(team, body, code):
    with pytest.raises(ConversationRefused) as refused:
        note_add(lead=LeadFactory(), author=team["ayse"], body=body)
    assert refused.value.code == code
    assert not Note.objects.exists() and not Event.objects.exists()


def test_opening_the_conversation_sees_ones_own_mentions_only(team):
    lead = LeadFactory()
    note_add(lead=lead, author=team["ayse"], body="@deniz.k")
    note_add(lead=lead, author=team["deniz"], body="@ayse ok")
    assert mentions_seen(lead_id=lead.pk, user=team["deniz"]) == 1
    assert mentions_unseen_count(user=team["deniz"]) == 0 and mentions_unseen_count(user=team["ayse"]) == 1
    seen = Event.objects.filter(type=Event.Type.READ).get()
    assert seen.user_ids == [team["deniz"].pk]  # only their pages recount
    assert mentions_seen(lead_id=lead.pk, user=team["deniz"]) == 0
    assert Event.objects.filter(type=Event.Type.READ).count() == 1  # nothing new: nothing announced


def test_notes_between_take_the_lower_bound_and_leave_the_upper(team):
    lead = LeadFactory()
    notes = [note_add(lead=lead, author=team["ayse"], body=str(n)) for n in range(3)]
    first, second, third = notes
    assert lead_notes_between(lead_id=lead.pk) == notes
    assert lead_notes_between(lead_id=lead.pk, since=second.created_at) == [second, third]
    assert lead_notes_between(lead_id=lead.pk, until=second.created_at) == [first]
    assert lead_notes_between(lead_id=LeadFactory().pk) == []


def test_the_agents_role_may_write_notes(team):
    codenames = set(Permission.objects.filter(group__name=AGENTS).values_list("codename", flat=True))
    assert {"add_note", "view_note"} <= codenames
