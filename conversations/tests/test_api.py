"""/api/v1/: the conversations (listed, filtered, counted), a lead's conversation changed through the inbox's
service (refusals as 409 or 400 with its message and code), a lead's private notes by cursor and added with their
@mentions, the caller's mentions seen; permissions and query counts."""

import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS
from accounts.services import api_token_create
from conversations.models import Conversation, Mention, Note
from conversations.services import note_add
from leads.tests.factories import LeadFactory
from notifications.models import Event

from .factories import ConversationFactory

pytestmark = pytest.mark.django_db

Status = Conversation.Status
CONVERSATIONS = reverse("api:v1:conversation-list")
COUNTS = reverse("api:v1:conversation-counts")
JSON = "application/json"
NOW = timezone.now()


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def ayse(user_in_role):
    return user_in_role("ayse", AGENTS, first_name="Ayşe", last_name="Yılmaz")


@pytest.fixture
def deniz(user_in_role):
    return user_in_role("deniz", AGENTS, first_name="Deniz")


@pytest.fixture
def api(client, ayse):
    """An agent's token: Ayşe reads, changes and notes conversations."""
    client.defaults.update(bearer(api_token_create(user=ayse, name="sync")[1]))
    return client


def conversation_url(lead) -> str:
    return reverse("api:v1:lead-conversation", args=[lead.pk])


def notes_url(lead, **query) -> str:
    url = reverse("api:v1:lead-notes", args=[lead.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def error(response, status=400) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def change(api, lead, **body):
    return api.post(conversation_url(lead), body, content_type=JSON)


# Reading


def test_a_conversation_as_the_api_answers_it(api, ayse):
    lead = LeadFactory(name="Deniz Kaya")
    opened = NOW - datetime.timedelta(hours=2)
    conversation = ConversationFactory(
        lead=lead, assignee=ayse, channel="sms", opened_at=opened, first_response_at=opened + datetime.timedelta(1)
    )
    data = api.get(reverse("api:v1:conversation-detail", args=[conversation.pk])).json()
    assert data == {
        "id": str(conversation.pk),
        "lead": {"id": str(lead.pk), "name": "Deniz Kaya"},
        "status": "open",
        "assignee": {"id": ayse.pk, "name": "Ayşe Yılmaz", "username": "ayse"},
        "channel": "sms",
        "snoozed_until": None,
        "opened_at": data["opened_at"],
        "first_response_at": data["first_response_at"],
        "resolved_at": None,
        "updated_at": data["updated_at"],
    }
    assert datetime.datetime.fromisoformat(data["opened_at"]) == opened
    nobodys = ConversationFactory()
    data = api.get(reverse("api:v1:conversation-detail", args=[nobodys.pk])).json()
    assert (data["assignee"], data["channel"], data["first_response_at"]) == (None, None, None)
    assert error(api.get(CONVERSATIONS + "/not-a-uuid"), 404)["code"] == "not_found"


def test_the_list_is_newest_first_and_filters_by_status_assignee_lead_and_mentions(api, ayse, deniz):
    def at(hours):
        return NOW - datetime.timedelta(hours=hours)

    lead = LeadFactory()
    mine = ConversationFactory(opened_at=at(1), assignee=ayse)
    deniz_s = ConversationFactory(opened_at=at(2), assignee=deniz)
    nobodys = ConversationFactory(opened_at=at(3), lead=lead)
    snoozed = ConversationFactory(opened_at=at(4), assignee=ayse, status=Status.SNOOZED, snoozed_until=at(-5))
    resolved = ConversationFactory(opened_at=at(5), lead=lead, status=Status.RESOLVED, resolved_at=at(4))
    tie = ConversationFactory(opened_at=at(3))  # the same time: the id breaks the tie
    first_of_tie, second_of_tie = sorted([nobodys, tie], key=lambda c: c.pk, reverse=True)
    everyone = [mine, deniz_s, first_of_tie, second_of_tie, snoozed, resolved]

    assert ids(api.get(CONVERSATIONS)) == [str(c.pk) for c in everyone]
    assert ids(api.get(CONVERSATIONS, {"status": "open"})) == [str(c.pk) for c in everyone[:4]]
    assert ids(api.get(CONVERSATIONS, {"status": "snoozed"})) == [str(snoozed.pk)]
    assert ids(api.get(CONVERSATIONS, {"status": "resolved"})) == [str(resolved.pk)]
    assert ids(api.get(CONVERSATIONS, {"assignee": "me"})) == [str(mine.pk), str(snoozed.pk)]
    assert ids(api.get(CONVERSATIONS, {"assignee": "me", "status": "open"})) == [str(mine.pk)]
    assert ids(api.get(CONVERSATIONS, {"assignee": str(deniz.pk)})) == [str(deniz_s.pk)]
    expected = {str(nobodys.pk), str(tie.pk), str(resolved.pk)}
    assert set(ids(api.get(CONVERSATIONS, {"assignee": "none"}))) == expected
    assert ids(api.get(CONVERSATIONS, {"lead": str(lead.pk)})) == [str(nobodys.pk), str(resolved.pk)]
    assert ids(api.get(CONVERSATIONS, {"assignee": "2147483647"})) == []

    note_add(lead=deniz_s.lead, author=deniz, body="@ayse bakar mısın?")
    assert ids(api.get(CONVERSATIONS, {"mentioned": "true"})) == [str(deniz_s.pk)]
    assert str(deniz_s.pk) not in ids(api.get(CONVERSATIONS, {"mentioned": "false"}))
    page = api.get(CONVERSATIONS, {"page_size": 2, "page": 2}).json()
    assert page["count"] == 6 and [c["id"] for c in page["results"]] == [str(c.pk) for c in everyone[2:4]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"assignee": "someone"}, "assignee"),
        ({"assignee": "0"}, "assignee"),
        ({"assignee": "-3"}, "assignee"),
        ({"assignee": "2147483648"}, "assignee"),
        ({"assignee": "٣"}, "assignee"),  # a digit, not an ASCII one
        ({"assignee": "9" * 40}, "assignee"),
        ({"assignee": "9" * 5000}, "assignee"),  # longer than Python turns into a number
        ({"lead": "not-a-uuid"}, "lead"),
        ({"mentioned": "maybe"}, "mentioned"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_bad_filter_values_are_400_in_the_error_format(api, params, field):
    body = error(api.get(CONVERSATIONS, params))
    assert body["code"] == "validation_error" and field in body["fields"]


def test_the_counts_are_the_inboxs_views_and_the_callers_mentions(api, ayse, deniz):
    ConversationFactory.create_batch(2, assignee=ayse)
    ConversationFactory(assignee=deniz)
    ConversationFactory.create_batch(3)
    ConversationFactory(assignee=ayse, status=Status.SNOOZED, snoozed_until=NOW + datetime.timedelta(hours=1))
    ConversationFactory(status=Status.RESOLVED, resolved_at=NOW)
    lead = LeadFactory()
    note_add(lead=lead, author=deniz, body="@ayse bir bakar mısın?")
    note_add(lead=lead, author=deniz, body="@ayse yine ben")  # one conversation, however many notes
    assert api.get(COUNTS).json() == {
        "open": {"mine": 2, "unassigned": 3, "all": 6},
        "snoozed": {"mine": 1, "unassigned": 0, "all": 1},
        "mentions": 1,
    }


@pytest.mark.parametrize("count", [5, 60])
def test_the_query_counts_do_not_grow_with_the_conversations(api, deniz, django_assert_max_num_queries, count):
    for n in range(count):
        ConversationFactory(assignee=deniz if n % 2 else None)
    api.get(COUNTS)  # the token's first use of the minute records it: not the list's cost
    # Authentication and permissions (up to 5), the count and the page with its leads and assignees.
    with django_assert_max_num_queries(7):
        assert len(ids(api.get(CONVERSATIONS, {"page_size": 200}))) == count
    with django_assert_max_num_queries(7):
        api.get(CONVERSATIONS, {"status": "open", "assignee": "none", "mentioned": "false"})
    # And the open and the snoozed counts and the mentions: three.
    with django_assert_max_num_queries(8):
        assert api.get(COUNTS).json()["open"]["all"] == count


# A lead's conversation


def test_a_leads_conversation_is_its_current_one_else_its_latest(api):
    lead = LeadFactory()
    assert error(api.get(conversation_url(lead)), 404)["code"] == "no_conversation"
    old = ConversationFactory(lead=lead, status=Status.RESOLVED, resolved_at=NOW, opened_at=NOW - datetime.timedelta(9))
    assert api.get(conversation_url(lead)).json()["id"] == str(old.pk)
    current = ConversationFactory(lead=lead)
    assert api.get(conversation_url(lead)).json()["id"] == str(current.pk)
    unknown = reverse("api:v1:lead-conversation", args=["0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21"])
    assert error(api.get(unknown), 404)["code"] == "not_found"


def test_take_assign_unassign_snooze_resolve_and_reopen_through_the_inboxs_service(api, ayse, deniz):
    lead = LeadFactory(name="Elif")
    conversation = ConversationFactory(lead=lead)

    taken = change(api, lead, action="take")
    assert taken.status_code == 200, taken.content
    assert taken.json()["id"] == str(conversation.pk) and taken.json()["assignee"]["id"] == ayse.pk
    assert taken.json()["lead"] == {"id": str(lead.pk), "name": "Elif"}
    announced = Event.objects.filter(type=Event.Type.CONVERSATION_CHANGED).latest("pk").payload
    assert announced["assignee_id"] == ayse.pk  # every open page hears of it

    assert change(api, lead, action="assign", assignee=deniz.pk).json()["assignee"]["username"] == "deniz"
    assert change(api, lead, action="unassign").json()["assignee"] is None

    snoozed = change(api, lead, action="snooze", snooze="tomorrow").json()
    assert snoozed["status"] == "snoozed"
    assert datetime.datetime.fromisoformat(snoozed["snoozed_until"]) > NOW + datetime.timedelta(hours=1)
    until = (timezone.now() + datetime.timedelta(days=3)).replace(microsecond=0)
    snoozed = change(api, lead, action="snooze", until=until.isoformat()).json()
    assert datetime.datetime.fromisoformat(snoozed["snoozed_until"]) == until
    naive = change(api, lead, action="snooze", until="2099-01-02T09:30").json()  # the site's time
    assert datetime.datetime.fromisoformat(naive["snoozed_until"]) == timezone.make_aware(
        datetime.datetime(2099, 1, 2, 9, 30)
    )

    resolved = change(api, lead, action="resolve").json()  # no current one after it: the one just resolved
    assert (resolved["id"], resolved["status"]) == (str(conversation.pk), "resolved")
    assert resolved["resolved_at"] and resolved["snoozed_until"] is None
    reopened = change(api, lead, action="reopen").json()
    assert (reopened["id"], reopened["status"], reopened["resolved_at"]) == (str(conversation.pk), "open", None)
    assert Conversation.objects.get().status == Status.OPEN


def test_a_conversation_another_agent_took_is_409_with_who_has_it(api, deniz):
    lead = LeadFactory()
    ConversationFactory(lead=lead, assignee=deniz)
    body = error(change(api, lead, action="take"), 409)
    assert body == {"code": "taken", "message": "Deniz has this conversation already.", "fields": {}}
    assert Conversation.objects.get().assignee == deniz


def test_the_services_refusals_are_400_with_its_message_and_code(api, user_in_role, django_user_model):
    lead = LeadFactory()
    assert error(change(api, lead, action="resolve"))["code"] == "no_conversation"  # never begun
    ConversationFactory(lead=lead)
    outsider = django_user_model.objects.create_user(username="outsider")
    assigned = error(change(api, lead, action="assign", assignee=outsider.pk))
    assert (assigned["code"], assigned["message"]) == ("assignee", "That agent cannot read conversations.")
    assert error(change(api, lead, action="assign", assignee=2147483647))["code"] == "assignee"
    assert error(change(api, lead, action="assign"))["code"] == "assignee"
    assert error(change(api, lead, action="snooze"))["code"] == "snooze_until"
    assert error(change(api, lead, action="snooze", until="2000-01-01T00:00:00Z"))["code"] == "snooze_past"
    assert Conversation.objects.get().status == Status.OPEN and Conversation.objects.get().assignee is None
    newer = LeadFactory()
    ConversationFactory(lead=newer, status=Status.RESOLVED, resolved_at=NOW, opened_at=NOW - datetime.timedelta(9))
    ConversationFactory(lead=newer)
    assert error(change(api, newer, action="reopen"))["code"] == "no_conversation"  # nothing resolved is latest


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "action"),
        ({"action": "close"}, "action"),
        ({"action": ["take"]}, "action"),
        ({"action": "assign", "assignee": "7"}, "assignee"),  # a number, not a string
        ({"action": "assign", "assignee": True}, "assignee"),
        ({"action": "assign", "assignee": 0}, "assignee"),
        ({"action": "assign", "assignee": 2**31}, "assignee"),
        ({"action": "snooze", "snooze": "forever"}, "snooze"),
        ({"action": "snooze", "until": "tomorrow"}, "until"),
        ({"action": "snooze", "until": "10000-01-01T00:00:00Z"}, "until"),
        ({"action": "snooze", "until": "0001-01-01T00:00:00+14:00"}, "until"),
        ({"action": "snooze", "until": "9999-12-31T23:59:59Z"}, "until"),  # past year 9999 in the site's time
        ({"action": "snooze", "snooze": "hour", "until": "2099-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(api, body, field):
    lead = LeadFactory()
    ConversationFactory(lead=lead)
    assert field in error(change(api, lead, **body))["fields"]
    assert Conversation.objects.get().status == Status.OPEN


# Notes


def test_notes_newest_first_by_cursor_with_authors_and_mentions(api, ayse, deniz):
    lead = LeadFactory()
    notes = [note_add(lead=lead, author=deniz, body=f"Not {n}") for n in range(5)]
    for n, note in enumerate(notes):
        Note.objects.filter(pk=note.pk).update(created_at=NOW - datetime.timedelta(minutes=5 - n))
    mentioning = note_add(lead=lead, author=deniz, body="@ayse fiyatı sen gönderir misin?")
    note_add(lead=LeadFactory(), author=deniz, body="another lead's")
    expected = [str(mentioning.pk), *(str(note.pk) for note in reversed(notes))]

    first = api.get(notes_url(lead, limit=4)).json()
    assert [note["id"] for note in first["results"]] == expected[:4]
    assert first["results"][0] == {
        "id": str(mentioning.pk),
        "lead": str(lead.pk),
        "author": {"id": deniz.pk, "name": "Deniz", "username": "deniz"},
        "body": "@ayse fiyatı sen gönderir misin?",
        "mentioned": [ayse.pk],
        "created_at": first["results"][0]["created_at"],
    }
    older = api.get(first["next"]).json()
    assert [note["id"] for note in older["results"]] == expected[4:] and older["next"] is None
    assert parse_qs(urlparse(first["previous"]).query)["after"] == [str(mentioning.pk)]
    assert api.get(first["previous"]).json()["results"] == []  # nothing newer yet
    later = note_add(lead=lead, author=deniz, body="Sonra")
    assert [note["id"] for note in api.get(first["previous"]).json()["results"]] == [str(later.pk)]

    other_leads = Note.objects.exclude(lead=lead).get()
    assert error(api.get(notes_url(lead, before=other_leads.pk)))["code"] == "invalid_cursor"
    assert error(api.get(notes_url(lead, before="x")))["code"] == "invalid_cursor"
    assert error(api.get(notes_url(lead, limit=0)))["fields"]["limit"]


def test_adding_a_note_mentions_and_tells_the_agents_it_names(api, ayse, deniz):
    lead = LeadFactory(name="Elif")
    response = api.post(notes_url(lead), {"body": "  @deniz ve @ayse: fiyatı kim gönderiyor?  "}, content_type=JSON)
    assert response.status_code == 201, response.content
    note = Note.objects.get()
    assert response.json() == {
        "id": str(note.pk),
        "lead": str(lead.pk),
        "author": {"id": ayse.pk, "name": "Ayşe Yılmaz", "username": "ayse"},
        "body": "@deniz ve @ayse: fiyatı kim gönderiyor?",
        "mentioned": [deniz.pk],  # not its author
        "created_at": response.json()["created_at"],
    }
    assert list(Mention.objects.values_list("user_id", flat=True)) == [deniz.pk]
    assert Event.objects.get(type=Event.Type.NOTE_ADDED).payload["mentioned"] == [deniz.pk]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"body": "   "}, "empty"),
        ({"body": "x" * (Note.MAX_LENGTH + 1)}, "too_long"),
        ({"body": "NUL\x00"}, "validation_error"),
        ({"body": 7}, "validation_error"),
        ({"body": None}, "validation_error"),
        ({}, "validation_error"),
    ],
)
def test_a_refused_note_is_400_with_its_reason_and_writes_nothing(api, body, code):
    lead = LeadFactory()
    refused = error(api.post(notes_url(lead), body, content_type=JSON))
    assert refused["code"] == code and refused["fields"]["body"]
    assert not Note.objects.exists() and not Event.objects.filter(type=Event.Type.NOTE_ADDED).exists()


def test_a_note_with_an_idempotency_key_is_added_once(api):
    lead = LeadFactory()
    headers = {"HTTP_IDEMPOTENCY_KEY": "note-1"}
    first = api.post(notes_url(lead), {"body": "Aradım"}, content_type=JSON, **headers)
    again = api.post(notes_url(lead), {"body": "Aradım"}, content_type=JSON, **headers)
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert first.json() == again.json() and Note.objects.count() == 1


@pytest.mark.parametrize("count", [3, 60])
def test_the_notes_query_count_does_not_grow_with_the_page(api, ayse, deniz, django_assert_max_num_queries, count):
    lead = LeadFactory()
    for n in range(count):
        note_add(lead=lead, author=deniz if n % 2 else ayse, body=f"@ayse @deniz not {n}")
    newest = Note.objects.latest("created_at")
    api.get(notes_url(lead))  # the token's first use of the minute records it: not the page's cost
    # Authentication and permissions (up to 5), the lead, the cursor's note, the page and its mentions.
    with django_assert_max_num_queries(9):
        response = api.get(notes_url(lead, limit=200, before=newest.pk))
    assert len(ids(response)) == count - 1 and all(note["mentioned"] for note in response.json()["results"])


def test_the_callers_mentions_are_seen_as_opening_the_conversation_does(api, ayse, deniz):
    lead = LeadFactory()
    note_add(lead=lead, author=deniz, body="@ayse bakar mısın?")
    note_add(lead=lead, author=ayse, body="@deniz sen de bak")
    url = reverse("api:v1:lead-mentions-seen", args=[lead.pk])
    assert api.post(url).json() == {"lead": str(lead.pk), "seen": 1}
    assert api.get(COUNTS).json()["mentions"] == 0
    assert Mention.objects.get(user=deniz).seen_at is None  # another agent's stay unseen
    assert api.post(url).json()["seen"] == 0


# Permissions


def endpoints(lead, conversation) -> list[tuple[str, str, dict]]:
    return [
        ("get", CONVERSATIONS, {}),
        ("get", reverse("api:v1:conversation-detail", args=[conversation.pk]), {}),
        ("get", COUNTS, {}),
        ("get", conversation_url(lead), {}),
        ("post", conversation_url(lead), {"data": {"action": "take"}, "content_type": JSON}),
        ("get", notes_url(lead), {}),
        ("post", notes_url(lead), {"data": {"body": "x"}, "content_type": JSON}),
        ("post", reverse("api:v1:lead-mentions-seen", args=[lead.pk]), {}),
    ]


def test_every_endpoint_needs_a_token_and_its_permission(client, django_user_model, ayse):
    lead = LeadFactory()
    conversation = ConversationFactory(lead=lead)
    nobody = api_token_create(user=django_user_model.objects.create_user(username="nobody"), name="x")[1]
    agent = api_token_create(user=ayse, name="x")[1]
    for method, url, kwargs in endpoints(lead, conversation):
        assert getattr(client, method)(url, **kwargs).status_code == 401, (method, url)
        refused = getattr(client, method)(url, **kwargs, **bearer(nobody))
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied"), (method, url)
        assert getattr(client, method)(url, **kwargs, **bearer(agent)).status_code in {200, 201}, (method, url)
    assert Conversation.objects.get().assignee == ayse and Note.objects.count() == 1


def test_reading_is_not_changing(client, django_user_model):
    """Someone who may read conversations but neither change them nor write notes."""
    from django.contrib.auth.models import Permission

    reader = django_user_model.objects.create_user(username="reader")
    readable = Permission.objects.filter(
        content_type__app_label__in=["leads", "messaging"], codename__in=["view_lead", "view_message"]
    )
    reader.user_permissions.add(*readable)
    secret = api_token_create(user=reader, name="x")[1]
    lead = LeadFactory()
    ConversationFactory(lead=lead)
    assert client.get(CONVERSATIONS, **bearer(secret)).status_code == 200
    assert client.get(notes_url(lead), **bearer(secret)).status_code == 200
    post = {"content_type": JSON, **bearer(secret)}
    assert client.post(conversation_url(lead), {"action": "take"}, **post).status_code == 403
    assert client.post(notes_url(lead), {"body": "x"}, **post).status_code == 403
    assert Conversation.objects.get().assignee is None and not Note.objects.exists()


def test_the_schema_says_a_taken_conversation_is_409(staff_client):
    schema = staff_client.get(reverse("api:v1:schema"), {"format": "json"}).json()
    responses = schema["paths"]["/api/v1/leads/{id}/conversation"]["post"]["responses"]
    assert {"200", "400", "404", "409"} <= set(responses)
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/conversations"]["get"]["parameters"]}
    assert sorted(parameters["status"]["enum"]) == ["open", "resolved", "snoozed"]
    assert parameters["assignee"]["pattern"]
    notes = schema["paths"]["/api/v1/leads/{id}/notes"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in notes["parameters"]}


def test_the_agents_are_those_who_read_conversations_with_whether_they_take_them_in_turn(
    api, ayse, deniz, django_user_model, django_assert_max_num_queries
):
    from accounts.services import user_availability_set

    django_user_model.objects.create_user(username="outsider")  # no role: not an agent
    user_availability_set(user=deniz, available=True)
    response = api.get(reverse("api:v1:agents"))
    assert response.status_code == 200
    assert [(a["username"], a["available"]) for a in response.json()] == [("ayse", False), ("deniz", True)]
    assert response.json()[0] == {"id": ayse.pk, "name": "Ayşe Yılmaz", "username": "ayse", "available": False}
    api.get(reverse("api:v1:agents"))
    with django_assert_max_num_queries(3):  # the token's user, the agents (their permissions are cached)
        api.get(reverse("api:v1:agents"))
