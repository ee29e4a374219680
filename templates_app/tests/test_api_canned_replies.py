"""The canned replies of the API: the team's and the caller's own (never another agent's), searched and filled for a
lead as the composer fills them; one's own made, changed and deleted by whoever may send, the team's only with the
model's permissions; through the same services as the agent's page and the admin."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.roles import AGENTS, OPERATORS
from accounts.services import api_token_create
from leads.tests.factories import LeadFactory
from templates_app.models import CannedReply
from templates_app.rendering import template_values
from templates_app.services import canned_reply_save

pytestmark = pytest.mark.django_db

REPLIES = reverse("api:v1:canned-reply-list")
JSON = "application/json"


def reply_url(reply) -> str:
    return reverse("api:v1:canned-reply-detail", args=[reply.pk])


def reply(shortcut, text="Merhaba {{1}}", owner=None) -> CannedReply:
    return canned_reply_save(reply=CannedReply(shortcut=shortcut, text=text, owner=owner))


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def ayse(user_in_role):
    return user_in_role("ayse", AGENTS)


@pytest.fixture
def api(client, ayse):
    """An agent's token: sends, so reads the team's replies and keeps her own."""
    client.defaults.update(bearer(api_token_create(user=ayse, name="sync")[1]))
    return client


@pytest.fixture
def operator_api(user_in_role):
    """An operator's token (a client of its own): also manages the team's replies."""
    operator = user_in_role("operator", OPERATORS, is_staff=True)
    return Client(**bearer(api_token_create(user=operator, name="sync")[1]))


def shortcuts(response) -> list[tuple[str, bool]]:
    assert response.status_code == 200, response.content
    return [(item["shortcut"], item["shared"]) for item in response.json()["results"]]


def error(response, status=400) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_the_list_is_the_teams_and_ones_own_by_shortcut_never_another_agents(api, ayse, user_in_role):
    deniz = user_in_role("deniz", AGENTS)
    reply("fiyat", "Fiyat listemiz ekte, {{1}}.")
    own = reply("fiyat", "Benim fiyat notum", owner=ayse)
    reply("adres", "Adresimiz: Bağdat Caddesi 12")
    secret = reply("gizli", "Deniz'in kendi cevabı", owner=deniz)
    assert shortcuts(api.get(REPLIES)) == [("adres", True), ("fiyat", False), ("fiyat", True)]
    assert shortcuts(api.get(REPLIES, {"q": "FI"})) == [("fiyat", False), ("fiyat", True)]
    assert shortcuts(api.get(REPLIES, {"q": "bağdat"})) == [("adres", True)]
    assert api.get(REPLIES, {"page_size": 1}).json()["count"] == 3
    assert api.get(reply_url(own)).json() == {
        "id": str(own.pk),
        "shortcut": "fiyat",
        "text": "Benim fiyat notum",
        "shared": False,
        "filled": None,
        "created_at": api.get(reply_url(own)).json()["created_at"],
        "updated_at": api.get(reply_url(own)).json()["updated_at"],
    }
    assert error(api.get(reply_url(secret)), 404)["code"] == "not_found"
    assert error(api.patch(reply_url(secret), {"text": "x"}, content_type=JSON), 404)["code"] == "not_found"
    assert error(api.delete(reply_url(secret)), 404)["code"] == "not_found"
    assert CannedReply.objects.get(pk=secret.pk).text == "Deniz'in kendi cevabı"


def test_with_a_lead_each_text_is_filled_as_the_composer_fills_it(api):
    shared = reply("tarih", "Merhaba {{1}}, {{2}} saat {{3}} için yeriniz hazır.")
    lead = LeadFactory(name="Ayşe", event_date=datetime.date(2027, 6, 12))
    item = api.get(REPLIES, {"lead": str(lead.pk)}).json()["results"][0]
    assert item["text"] == shared.text
    event_date = template_values(lead=lead)[1]  # in the site's format, as a template's
    assert event_date
    assert item["filled"] == {
        "text": f"Merhaba Ayşe, {event_date} saat {{{{3}}}} için yeriniz hazır.",
        "missing": [{"placeholder": "{{3}}", "meaning": "the event time"}],
    }
    assert api.get(reply_url(shared), {"lead": str(lead.pk)}).json()["filled"] == item["filled"]
    assert error(api.get(REPLIES, {"lead": "0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21"}))["fields"]["lead"]
    assert error(api.get(reply_url(shared), {"lead": "x"}))["fields"]["lead"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"q": "x" * 101}, "q"), ({"q": "fi\x00"}, "q"), ({"lead": "nope"}, "lead"), ({"page_size": "0"}, "page_size")],
)
def test_bad_query_values_are_400(api, params, field):
    assert field in error(api.get(REPLIES, params))["fields"]


def test_an_agent_makes_changes_and_deletes_her_own(api, ayse):
    created = api.post(REPLIES, {"shortcut": "/adres", "text": " Adresimiz: Bağdat Caddesi 12 "}, content_type=JSON)
    assert created.status_code == 201, created.content
    own = CannedReply.objects.get()
    assert (own.owner, own.shortcut, own.text) == (ayse, "adres", "Adresimiz: Bağdat Caddesi 12")
    assert created.json()["shared"] is False and created.json()["id"] == str(own.pk)

    changed = api.patch(reply_url(own), {"text": "Yeni adresimiz", "shared": True}, content_type=JSON)
    assert changed.status_code == 200, changed.content
    own.refresh_from_db()
    assert (own.text, own.owner, changed.json()["shared"]) == ("Yeni adresimiz", ayse, False)  # stays her own
    assert api.delete(reply_url(own)).status_code == 204
    assert not CannedReply.objects.exists()


def test_the_teams_replies_need_the_models_permissions(api, operator_api, ayse):
    team = reply("fiyat")
    assert error(api.post(REPLIES, {"shortcut": "x", "text": "y", "shared": True}, content_type=JSON), 403)
    refused = error(api.patch(reply_url(team), {"text": "changed"}, content_type=JSON), 403)
    assert refused["code"] == "permission_denied" and "your own" in refused["message"]
    assert error(api.delete(reply_url(team)), 403)["code"] == "permission_denied"
    assert CannedReply.objects.get().text == "Merhaba {{1}}" and CannedReply.objects.count() == 1

    made = operator_api.post(
        REPLIES, {"shortcut": "adres", "text": "Bağdat Caddesi", "shared": True}, content_type=JSON
    )
    assert made.status_code == 201 and made.json()["shared"] is True
    assert CannedReply.objects.get(shortcut="adres").owner is None
    assert operator_api.patch(reply_url(team), {"text": "Fiyatlar"}, content_type=JSON).json()["text"] == "Fiyatlar"
    assert operator_api.delete(reply_url(team)).status_code == 204
    assert list(CannedReply.objects.values_list("shortcut", flat=True)) == ["adres"]


def test_a_shortcut_taken_is_a_duplicate_among_the_teams_or_among_ones_own(api, operator_api, ayse):
    reply("fiyat")
    reply("adres", owner=ayse)
    assert api.post(REPLIES, {"shortcut": "fiyat", "text": "Benim"}, content_type=JSON).status_code == 201
    body = error(api.post(REPLIES, {"shortcut": "adres", "text": "Yine"}, content_type=JSON))
    assert body["code"] == "duplicate"
    assert body["message"] == "This shortcut is taken; choose another." and body["fields"]["shortcut"]
    shared = {"shortcut": "fiyat", "text": "x", "shared": True}
    assert error(operator_api.post(REPLIES, shared, content_type=JSON))["code"] == "duplicate"
    mine = CannedReply.objects.get(shortcut="fiyat", owner=ayse)
    assert error(api.patch(reply_url(mine), {"shortcut": "adres"}, content_type=JSON))["code"] == "duplicate"


def test_two_saves_of_one_shortcut_at_once_are_a_refusal_not_a_server_error(ayse, monkeypatch):
    reply("fiyat", owner=ayse)
    monkeypatch.setattr("templates_app.services.canned_reply_check", lambda reply: None)  # both passed the check
    with pytest.raises(ValidationError) as refused:
        reply("fiyat", owner=ayse)
    assert refused.value.error_dict["shortcut"][0].code == "duplicate"
    assert CannedReply.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x"}, "shortcut"),
        ({"shortcut": "fiyat"}, "text"),
        ({"shortcut": "fiyat listesi", "text": "x"}, "shortcut"),
        ({"shortcut": "x" * 33, "text": "x"}, "shortcut"),
        ({"shortcut": "x" * 101, "text": "x"}, "shortcut"),
        ({"shortcut": "fiyat", "text": "   "}, "text"),
        ({"shortcut": "fiyat", "text": "x" * 1601}, "text"),
        ({"shortcut": "fiyat", "text": "NUL\x00"}, "text"),
        ({"shortcut": 7, "text": "x"}, "shortcut"),
        ({"shortcut": "fiyat", "text": "x", "shared": "yes"}, "shared"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(api, body, field):
    assert field in error(api.post(REPLIES, body, content_type=JSON))["fields"]
    assert not CannedReply.objects.exists()


def test_create_with_an_idempotency_key_makes_one_reply(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "reply-adres"}
    body = {"shortcut": "adres", "text": "Bağdat Caddesi 12"}
    first = api.post(REPLIES, body, content_type=JSON, **headers)
    again = api.post(REPLIES, body, content_type=JSON, **headers)
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert CannedReply.objects.count() == 1


def test_nobody_without_a_token_or_the_send_permission(client, django_user_model):
    team = reply("fiyat")
    _, secret = api_token_create(user=django_user_model.objects.create_user(username="nobody"), name="x")
    for method, url in (("get", REPLIES), ("post", REPLIES), ("get", reply_url(team)), ("delete", reply_url(team))):
        assert getattr(client, method)(url).status_code == 401, (method, url)
        assert getattr(client, method)(url, **bearer(secret)).status_code == 403, (method, url)


@pytest.mark.parametrize("count", [3, 60])
def test_the_lists_query_count_does_not_grow_with_the_replies(api, ayse, django_assert_max_num_queries, count):
    for n in range(count):
        reply(f"r{n}", "Merhaba {{1}}, {{2}}", owner=ayse if n % 2 else None)
    lead = LeadFactory(event_date=datetime.date(2027, 6, 12))
    api.get(REPLIES)  # the token's first use of the minute records it: not the list's cost
    # Authentication and permissions (up to 5), the lead, the count and the page: filling them reads nothing more.
    with django_assert_max_num_queries(8):
        results = api.get(REPLIES, {"lead": str(lead.pk), "page_size": 200}).json()["results"]
    assert len(results) == count and all(item["filled"]["missing"] == [] for item in results)
