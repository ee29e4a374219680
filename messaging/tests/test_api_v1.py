"""/api/v1/: a lead's messages by cursor, sending (with Idempotency-Key), read and unread, stars, debug paths."""

import datetime
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS
from accounts.services import api_token_create, api_token_revoke
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.models import Message, MessageMedia
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def agent(user_in_role):
    return user_in_role("agent", AGENTS)


@pytest.fixture
def token(agent):
    return api_token_create(user=agent, name="sync")[1]


@pytest.fixture
def api(client, token):
    """A client that sends the agent's token."""
    client.defaults.update(bearer(token))
    return client


def messages_url(lead, **query) -> str:
    url = reverse("api:v1:lead-messages", args=[lead.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def thread(lead, count: int, *, start=NOW, **fields) -> list[Message]:
    """`count` messages a minute apart, oldest first."""
    return [
        MessageFactory(lead=lead, created_at=start - datetime.timedelta(minutes=count - n), **fields)
        for n in range(count)
    ]


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["results"]]


def cursor_of(link: str, name: str) -> str:
    return parse_qs(urlparse(link).query)[name][0]


# Reading


def test_messages_newest_first_and_next_pages_through_all_of_them(api):
    lead = LeadFactory()
    messages = thread(lead, 7)
    tie = MessageFactory(lead=lead, created_at=messages[3].created_at)  # the same time: the id breaks the tie
    thread(LeadFactory(), 3)  # another lead's
    expected = sorted([*messages, tie], key=lambda m: (m.created_at, m.pk), reverse=True)

    seen, url, pages = [], messages_url(lead, limit=3), 0
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        seen += ids(response)
        url, pages = response.json()["next"], pages + 1
    assert seen == [str(m.pk) for m in expected]
    assert pages == 3

    first = api.get(messages_url(lead, limit=3)).json()
    assert cursor_of(first["previous"], "after") == str(expected[0].pk)
    assert cursor_of(first["next"], "before") == str(expected[2].pk)
    assert "limit=3" in first["next"]


def test_after_gives_the_newer_ones_and_previous_waits_for_new_messages(api):
    lead = LeadFactory()
    messages = thread(lead, 6)
    page = api.get(messages_url(lead, after=messages[1].pk, limit=2)).json()
    assert ids_of(page) == [str(messages[3].pk), str(messages[2].pk)]  # just after it, newest first
    assert cursor_of(page["next"], "before") == str(messages[2].pk)
    newest = api.get(page["previous"].replace("limit=2", "limit=50")).json()
    assert ids_of(newest) == [str(messages[5].pk), str(messages[4].pk)]
    caught_up = api.get(newest["previous"]).json()
    assert caught_up["results"] == [] and caught_up["previous"] == newest["previous"]  # poll it again later
    later = MessageFactory(lead=lead, created_at=NOW + datetime.timedelta(minutes=5))
    assert ids_of(api.get(newest["previous"]).json()) == [str(later.pk)]


def ids_of(page: dict) -> list[str]:
    return [item["id"] for item in page["results"]]


def test_the_last_page_has_no_next_and_an_empty_thread_no_links(api):
    lead = LeadFactory()
    messages = thread(lead, 3)
    page = api.get(messages_url(lead, limit=3)).json()
    assert page["next"] is None and len(page["results"]) == 3
    assert api.get(messages_url(lead, before=messages[0].pk)).json() == {
        "results": [],
        "next": None,
        "previous": None,
    }
    assert api.get(messages_url(LeadFactory())).json() == {"results": [], "next": None, "previous": None}


def test_the_default_page_is_50_and_at_most_200(api):
    lead = LeadFactory()
    thread(lead, 201)
    assert len(ids(api.get(messages_url(lead)))) == 50
    assert len(ids(api.get(messages_url(lead, limit=200)))) == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "9" * 5000}, "limit"),
        ({"limit": "٣"}, "limit"),
        ({"before": "not-a-uuid"}, "before"),
        ({"before": "1%00"}, "before"),
        ({"after": str(uuid.uuid4())}, "after"),
        ({"before": "x" * 10_000}, "before"),
    ],
)
def test_a_bad_limit_or_cursor_is_a_400_in_the_error_format(api, query, field):
    lead = LeadFactory()
    thread(lead, 2)
    response = api.get(messages_url(lead, **query))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == ("validation_error" if field == "limit" else "invalid_cursor")
    assert list(error["fields"]) == [field]


def test_a_cursor_of_another_leads_message_is_refused(api):
    lead, other = LeadFactory(), LeadFactory()
    thread(lead, 2)
    foreign = thread(other, 2)[0]
    response = api.get(messages_url(lead, before=foreign.pk))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_cursor",
        "message": "Must be the id of a row of this list.",
        "fields": {"before": ["Must be the id of a row of this list."]},
    }
    both = api.get(messages_url(lead, before=foreign.pk, after=foreign.pk))
    assert both.status_code == 400 and both.json()["error"]["fields"] == {
        "after": ["Give either before or after, not both."]
    }


def test_an_unknown_lead_is_a_404(api):
    response = api.get(reverse("api:v1:lead-messages", args=[uuid.uuid4()]))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_message_as_the_api_shows_it(api, agent):
    lead = LeadFactory()
    inbound = InboundMessageFactory(lead=lead, body="Merhaba", created_at=NOW - datetime.timedelta(minutes=2))
    failed = MessageFactory(
        lead=lead, status="failed", error_code=63016, sent_by=agent, is_starred=True, starred_at=NOW, created_at=NOW
    )
    MessageMedia.objects.create(message=inbound, position=0, content_type="image/jpeg", size=1234, status="stored")
    first, second = api.get(messages_url(lead)).json()["results"]
    assert first["id"] == str(failed.pk)
    assert (first["direction"], first["is_from_lead"], first["sent_by"], first["is_starred"]) == (
        "outbound",
        False,
        "agent",
        True,
    )
    assert first["status"] == "failed" and first["error_code"] == 63016 and "24 hours" in first["error_explanation"]
    assert (second["direction"], second["sent_by"], second["body"], second["lead"]) == (
        "inbound",
        None,
        "Merhaba",
        str(lead.pk),
    )
    [media] = second["media"]
    assert media["url"].startswith("http://testserver/") and media["url"].endswith(
        reverse("api:v1:media-file", args=[media["id"]])
    )
    assert (media["content_type"], media["size"], media["status"]) == ("image/jpeg", 1234, "stored")
    assert set(first) == {
        "id",
        "lead",
        "direction",
        "is_from_lead",
        "channel",
        "status",
        "body",
        "template_name",
        "media",
        "content",
        "error_code",
        "error_message",
        "error_explanation",
        "is_read",
        "read_at",
        "is_starred",
        "starred_at",
        "sent_by",
        "created_at",
        "updated_at",
    }


def test_what_a_message_carries_is_in_the_same_neutral_terms_as_the_thread(api):
    lead = LeadFactory()
    ours = MessageFactory(lead=lead, body="Salon uygun.", created_at=NOW - datetime.timedelta(minutes=9))
    place = InboundMessageFactory(
        lead=lead,
        body="",
        created_at=NOW - datetime.timedelta(minutes=8),
        content={"location": {"latitude": 41.0438, "longitude": 29.0094, "label": "Salon", "address": "Beşiktaş"}},
    )
    reply = InboundMessageFactory(
        lead=lead,
        created_at=NOW - datetime.timedelta(minutes=7),
        content={"quoted_sid": ours.twilio_message_sid, "choice": {"kind": "list", "title": "Cumartesi", "id": "sat"}},
    )
    lost = InboundMessageFactory(
        lead=lead,
        created_at=NOW - datetime.timedelta(minutes=6),
        content={"quoted_sid": "SM" + "d" * 32, "referral": {"headline": "Paket", "source_url": "javascript:alert(1)"}},
    )
    card = InboundMessageFactory(lead=lead, body="", created_at=NOW - datetime.timedelta(minutes=5))
    MessageMedia.objects.create(
        message=card,
        position=0,
        content_type="text/vcard",
        status="stored",
        file="c.vcf",
        contacts=[{"name": "Mert", "phones": ["+905551110002"]}],
    )
    by_id = {row["id"]: row["content"] for row in api.get(messages_url(lead)).json()["results"]}
    assert by_id[str(place.pk)]["location"] == {
        "latitude": 41.0438,
        "longitude": 29.0094,
        "label": "Salon",
        "address": "Beşiktaş",
        "map_url": "https://www.openstreetmap.org/?mlat=41.043800&mlon=29.009400#map=17/41.043800/29.009400",
    }
    assert by_id[str(reply.pk)]["quote"] == {"message_id": str(ours.pk), "text": "Salon uygun."}
    assert by_id[str(reply.pk)]["choice"] == {"kind": "list", "title": "Cumartesi", "id": "sat"}
    assert by_id[str(lost.pk)]["quote"] == {"message_id": None, "text": ""}
    assert by_id[str(lost.pk)]["referral"] == {
        "headline": "Paket",
        "body": "",
        "url": "",
        "source_type": "",
        "source_id": "",
    }
    assert by_id[str(card.pk)]["contacts"] == [{"name": "Mert", "phones": ["+905551110002"]}]
    assert by_id[str(ours.pk)] == {
        "consent": None,
        "location": None,
        "choice": None,
        "quote": None,
        "referral": None,
        "contacts": [],
        "sticker": False,
    }


def test_an_opt_out_says_why_in_the_api_as_in_the_thread(api):
    lead = LeadFactory()
    InboundMessageFactory(
        lead=lead, body="İptal", opt_change="out", content={"consent": {"by": "word", "word": "İptal"}}
    )
    [row] = api.get(messages_url(lead)).json()["results"]
    assert row["content"]["consent"] == {
        "change": "out",
        "by": "word",
        "word": "İptal",
        "notice": "Opted out: “İptal” is an opt-out word for WhatsApp.",
    }


def test_the_query_count_does_not_grow_with_the_page(api, agent, django_assert_max_num_queries):
    small, big = LeadFactory(), LeadFactory()
    for lead, count in ((small, 2), (big, 60)):
        for message in thread(lead, count, sent_by=agent):
            MessageMedia.objects.create(message=message, position=0, content_type="image/png", status="stored")
    api.get(messages_url(small))  # the token's last use is written at most once a minute: not in the count
    with CaptureQueriesContext(connection) as few:
        api.get(messages_url(small))
    newest = Message.objects.filter(lead=big).latest("created_at")
    # The token and its user (3), the user's permissions (2), the lead, the cursor's message, the page, its media.
    with django_assert_max_num_queries(9), CaptureQueriesContext(connection) as many:
        response = api.get(messages_url(big, limit=60, before=newest.pk))
    assert len(ids(response)) == 59
    assert len(many) == len(few) + 1  # the cursor's own lookup


# Permissions


def endpoints(lead, message) -> list[tuple[str, str, dict]]:
    return [
        ("get", messages_url(lead), {}),
        ("post", messages_url(lead), {"data": {"body": "x"}, "content_type": "application/json"}),
        ("post", reverse("api:v1:lead-read", args=[lead.pk]), {}),
        ("post", reverse("api:v1:lead-unread", args=[lead.pk]), {}),
        ("post", reverse("api:v1:message-star", args=[message.pk]), {}),
        ("delete", reverse("api:v1:message-star", args=[message.pk]), {}),
    ]


def call(client, method, url, kwargs, **headers):
    return getattr(client, method)(url, **kwargs, **headers)


def test_every_endpoint_needs_credentials_and_its_permission(client, agent, token, django_user_model):
    lead = LeadFactory(phone="+905551234567", last_inbound_at=NOW - datetime.timedelta(hours=1), unread_count=1)
    message = InboundMessageFactory(lead=lead)
    bare_staff = django_user_model.objects.create_user(username="bare", is_staff=True)
    _, bare_secret = api_token_create(user=bare_staff, name="x")
    revoked, revoked_secret = api_token_create(user=agent, name="old")
    api_token_revoke(token=revoked)
    for method, url, kwargs in endpoints(lead, message):
        anonymous = call(client, method, url, kwargs)
        assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Bearer"), url
        assert anonymous.json()["error"]["code"] == "not_authenticated"
        assert call(client, method, url, kwargs, **bearer(revoked_secret)).status_code == 401
        refused = call(client, method, url, kwargs, **bearer(bare_secret))
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied"), url
        assert call(client, method, url, kwargs, **bearer(token)).status_code in {200, 201}, url
    client.force_login(bare_staff)
    assert all(call(client, m, u, k).status_code == 403 for m, u, k in endpoints(lead, message))
    client.force_login(agent)  # the session, as the pages have it (CSRF is the test client's to skip)
    assert all(call(client, m, u, k).status_code in {200, 201} for m, u, k in endpoints(lead, message))
    agent.is_active = False
    agent.save()
    assert all(call(client, m, u, k, **bearer(token)).status_code == 401 for m, u, k in endpoints(lead, message))


# Sending


@pytest.fixture
def open_lead():
    return LeadFactory(phone="+905551234567", last_inbound_at=NOW - datetime.timedelta(hours=1))


def test_send_text_template_and_file_through_the_pages_service(
    api, open_lead, outbox, django_capture_on_commit_callbacks
):
    from templates_app.tests.factories import TemplateFactory

    url = messages_url(open_lead)
    template = TemplateFactory(content="Merhaba {{1}}, {{4}}")
    with django_capture_on_commit_callbacks(execute=True):
        text = api.post(url, {"body": "Merhaba"}, content_type="application/json")
        filled = api.post(
            url, {"template": str(template.pk), "parameters": ["cumartesi"]}, content_type="application/json"
        )
        image = api.post(
            url,
            {
                "file": SimpleUploadedFile("a.jpg", b"\xff\xd8\xff" + b"0" * 100, content_type="image/jpeg"),
                "body": "Foto",
            },
        )
    assert (text.status_code, filled.status_code, image.status_code) == (201, 201, 201), image.content
    assert [m.body for m in outbox] == ["Merhaba", "", "Foto"]  # the template goes as its content SID and values
    assert outbox[1].content_sid and filled.json()["body"] == f"Merhaba {open_lead.name}, cumartesi"
    assert text.json()["status"] == "queued" and text.json()["sent_by"] == "agent"
    assert text.json()["direction"] == "outbound" and text.json()["lead"] == str(open_lead.pk)
    assert filled.json()["template_name"] == template.name
    assert image.json()["media"][0]["content_type"] == "image/jpeg"
    assert ids(api.get(url)) == [image.json()["id"], filled.json()["id"], text.json()["id"]]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"body": "x" * 1601}, "too_long", None),
        ({"body": ""}, "empty", None),
        ({"body": "a\x00b"}, "validation_error", "body"),
        ({"template": "not-a-uuid"}, "validation_error", "template"),
        ({"template": str(uuid.uuid4())}, "validation_error", "template"),
        ({"template": 12}, "validation_error", "template"),
        ({"parameters": "x"}, "validation_error", "parameters"),
        ({"channel": "fax"}, "validation_error", "channel"),
        ([1, 2], "validation_error", None),
    ],
)
def test_send_refusals_are_400_in_the_error_format(api, open_lead, outbox, body, code, field):
    response = api.post(messages_url(open_lead), body, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert (field in error["fields"]) if field else error["fields"] == {}
    assert not outbox and not Message.objects.exists()


def test_a_closed_window_is_refused_with_its_reason(api, outbox):
    response = api.post(
        messages_url(LeadFactory(phone="+905551234567")), {"body": "x"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "window_closed" and "24 hours" in response.json()["error"]["message"]


def test_an_empty_or_malformed_body_is_a_400(api, open_lead):
    url = messages_url(open_lead)
    assert api.post(url, "", content_type="application/json").status_code == 400
    assert api.post(url, "{not json", content_type="application/json").json()["error"]["code"] == "parse_error"


# Idempotency-Key


def send(client, lead, body, key, **headers):
    return client.post(messages_url(lead), body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_the_same_key_twice_sends_once_and_answers_the_same(api, open_lead, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = send(api, open_lead, {"body": "Merhaba"}, "key-1")
        again = send(api, open_lead, {"body": "Merhaba"}, "key-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert len(outbox) == 1 and Message.objects.count() == 1

    other_body = send(api, open_lead, {"body": "Başka"}, "key-1")
    assert (other_body.status_code, other_body.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert Message.objects.count() == 1


def test_keys_are_per_user(client, open_lead, outbox, user_in_role, token, django_capture_on_commit_callbacks):
    _, colleague = api_token_create(user=user_in_role("colleague", AGENTS), name="sync")
    with django_capture_on_commit_callbacks(execute=True):
        mine = send(client, open_lead, {"body": "Merhaba"}, "shared", **bearer(token))
        theirs = send(client, open_lead, {"body": "Merhaba"}, "shared", **bearer(colleague))
    assert (mine.status_code, theirs.status_code) == (201, 201) and mine.json()["id"] != theirs.json()["id"]
    assert len(outbox) == 2


def test_a_refusal_is_not_remembered(api, outbox, django_capture_on_commit_callbacks):
    lead = LeadFactory(phone="+905551234567")
    refused = send(api, lead, {"body": "Merhaba"}, "retry-me")
    assert refused.status_code == 400
    Lead.objects.filter(pk=lead.pk).update(last_inbound_at=timezone.now())  # the lead wrote: the window opens
    with django_capture_on_commit_callbacks(execute=True):
        retried = send(api, lead, {"body": "Merhaba"}, "retry-me")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert len(outbox) == 1


def test_a_file_sent_twice_with_one_key_is_stored_once(api, open_lead, outbox, django_capture_on_commit_callbacks):
    def post():
        upload = SimpleUploadedFile("a.jpg", b"\xff\xd8\xff" + b"0" * 100, content_type="image/jpeg")
        return api.post(messages_url(open_lead), {"file": upload}, HTTP_IDEMPOTENCY_KEY="file-1")

    with django_capture_on_commit_callbacks(execute=True):
        first, again = post(), post()
    assert (first.status_code, again.status_code) == (201, 201) and again.json() == first.json()
    assert MessageMedia.objects.count() == 1 and len(outbox) == 1


# Read, unread, stars


def test_mark_read_then_unread(api, django_capture_on_commit_callbacks):
    from messaging.inbox.selectors import inbox_leads

    lead = LeadFactory(unread_count=3, last_message_at=NOW)
    *_older, newest = (
        InboundMessageFactory(lead=lead, created_at=NOW - datetime.timedelta(minutes=n)) for n in (3, 2, 1)
    )
    MessageFactory(lead=lead, is_read=True, created_at=NOW)  # ours, newer: never counted
    read = api.post(reverse("api:v1:lead-read", args=[lead.pk]))
    assert read.status_code == 200
    assert read.json() == {"lead": str(lead.pk), "unread_count": 0, "changed": 3}
    assert not Message.objects.filter(lead=lead, is_read=False).exists()
    assert lead not in inbox_leads(unread=True)
    assert api.post(reverse("api:v1:lead-read", args=[lead.pk])).json()["changed"] == 0

    events = Event.objects.filter(type=Event.Type.READ, lead=lead).count()
    unread = api.post(reverse("api:v1:lead-unread", args=[lead.pk]))
    assert unread.json() == {"lead": str(lead.pk), "unread_count": 1, "changed": 1}
    assert list(Message.objects.filter(lead=lead, is_read=False)) == [newest]
    newest.refresh_from_db()
    assert newest.read_at is None
    assert lead in inbox_leads(unread=True)
    assert Event.objects.filter(type=Event.Type.READ, lead=lead).count() == events + 1  # every inbox re-counts
    assert api.post(reverse("api:v1:lead-unread", args=[lead.pk])).json()["changed"] == 0  # once
    assert api.post(reverse("api:v1:lead-read", args=[lead.pk])).json() == {
        "lead": str(lead.pk),
        "unread_count": 0,
        "changed": 1,
    }


def test_unread_for_a_lead_who_never_wrote_changes_nothing(api):
    lead = LeadFactory()
    MessageFactory(lead=lead, is_read=True)
    assert api.post(reverse("api:v1:lead-unread", args=[lead.pk])).json()["changed"] == 0
    assert Lead.objects.get(pk=lead.pk).unread_count == 0
    assert api.post(reverse("api:v1:lead-unread", args=[uuid.uuid4()])).status_code == 404


def test_star_and_unstar(api):
    message = InboundMessageFactory()
    url = reverse("api:v1:message-star", args=[message.pk])
    starred = api.post(url)
    assert starred.status_code == 200 and starred.json()["is_starred"] is True and starred.json()["starred_at"]
    assert api.post(url).json()["starred_at"] == starred.json()["starred_at"]  # already starred: unchanged
    unstarred = api.delete(url)
    assert unstarred.json()["is_starred"] is False and unstarred.json()["starred_at"] is None
    message.refresh_from_db()
    assert not message.is_starred
    assert api.post(reverse("api:v1:message-star", args=[uuid.uuid4()])).status_code == 404


# The debug endpoints under v1


def test_the_debug_endpoints_under_v1_are_the_same_views(staff_client):
    InboundMessageFactory(lead=LeadFactory(phone="+905551234567"), body="Merhaba")
    v1 = staff_client.get(reverse("api:v1:debug-messages"), {"phone": "05551234567"})
    spec = staff_client.get(reverse("api:debug-messages"), {"phone": "05551234567"})
    assert v1.status_code == 200 and v1.json() == spec.json()
    assert staff_client.get(reverse("api:v1:webhook-diagnostics")).json()["events"]["total"] == 0
    refused = staff_client.get(reverse("api:v1:debug-messages"), {"phone": "\x00"})
    assert refused.status_code == 400 and "phone" in refused.json()["error"]["fields"]


def test_a_token_client_downloads_an_attachment_as_the_pages_serve_it(api, django_user_model):
    from django.core.files.base import ContentFile
    from django.test import Client

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    message = InboundMessageFactory()
    stored = MessageMedia.objects.create(message=message, position=0, content_type="image/png", status="stored")
    stored.file.save("photo.png", ContentFile(png))
    waiting = MessageMedia.objects.create(message=message, position=1, content_type="image/png", status="pending")
    [first, _] = api.get(messages_url(message.lead)).json()["results"][0]["media"]
    response = api.get(first["url"])
    assert response.status_code == 200 and b"".join(response.streaming_content) == png
    assert (response["Content-Type"], response["Content-Security-Policy"]) == ("image/png", "sandbox")
    pending = api.get(reverse("api:v1:media-file", args=[waiting.pk]))
    assert pending.status_code == 404 and pending.json()["error"]["code"] == "not_stored"
    assert Client().get(first["url"]).status_code == 401
    nobody = api_token_create(user=django_user_model.objects.create_user(username="nobody"), name="x")[1]
    assert Client().get(first["url"], **bearer(nobody)).status_code == 403


def test_marking_read_never_takes_the_count_below_zero(api):
    """Found by the fuzzer: a count that had fallen behind its messages made reading them a server error."""
    lead = LeadFactory(unread_count=0)
    InboundMessageFactory.create_batch(3, lead=lead, is_read=False)
    response = api.post(reverse("api:v1:lead-read", args=[lead.pk]))
    assert response.status_code == 200 and response.json()["unread_count"] == 0


def test_only_a_send_takes_a_form_body(api):
    lead = LeadFactory()
    form = api.patch(reverse("api:v1:lead-detail", args=[lead.pk]), {"name": "x"})  # multipart
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"
