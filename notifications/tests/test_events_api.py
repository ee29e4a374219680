import pytest
from django.test import Client
from django.urls import reverse

from messaging.backends.twilio.tests.payloads import new_sid, status_callback, whatsapp_text
from notifications.models import Event

pytestmark = pytest.mark.django_db

URL = reverse("api:events")
V1 = reverse("api:v1:events")


def test_events_since_a_cursor(staff_client, post_webhook):
    start = staff_client.get(URL).json()
    assert start["events"] == []
    post_webhook(whatsapp_text(body="Merhaba", profile_name="Deniz"))
    post_webhook(whatsapp_text(body="İkinci"))
    data = staff_client.get(URL, {"cursor": start["cursor"]}).json()
    # The first message's sender became a lead (for the outbound webhooks; the screens skip that type).
    assert [event["type"] for event in data["events"]] == ["lead_created", "new_message", "new_message"]
    assert data["events"][1]["data"]["body"] == "Merhaba"
    assert data["cursor"] == Event.objects.order_by("-pk").first().pk
    assert staff_client.get(URL, {"cursor": data["cursor"]}).json()["events"] == []
    assert staff_client.post(f"{URL}?cursor={start['cursor']}").json()["cursor"] == data["cursor"]


def test_status_changes_are_events_too(staff_client, post_webhook):
    from messaging.tests.factories import MessageFactory

    message = MessageFactory(status="queued", twilio_message_sid=new_sid())
    cursor = staff_client.get(URL).json()["cursor"]
    post_webhook(status_callback(sid=message.twilio_message_sid, status="delivered"))
    events = staff_client.get(URL, {"cursor": cursor}).json()["events"]
    assert [(e["type"], e["data"]["status"]) for e in events] == [("status_update", "delivered")]


def test_needs_a_login():
    assert Client().get(URL).status_code == 401


def test_bad_cursor(staff_client):
    response = staff_client.get(URL, {"cursor": "abc"})
    assert response.status_code == 400 and "integer" in response.json()["error"]["fields"]["cursor"][0]


@pytest.mark.parametrize("url", [URL, V1])
@pytest.mark.parametrize("cursor", ["²", "١٢", "-1", "1.5", "99999999999999999999999", "1\x00", "9" * 5000])
def test_a_cursor_that_is_not_an_event_id_is_a_400_in_the_error_format(staff_client, url, cursor):
    response = staff_client.get(url, {"cursor": cursor})
    assert response.status_code == 400
    message = "Must be an event id (an integer)."
    assert response.json() == {"error": {"code": "invalid_cursor", "message": message, "fields": {"cursor": [message]}}}


def test_the_v1_feed_is_the_same_view_by_get_only(staff_client, post_webhook):
    start = staff_client.get(V1).json()
    post_webhook(whatsapp_text(body="Merhaba"))
    data = staff_client.get(V1, {"cursor": start["cursor"]}).json()
    # An unknown number: the lead is made (lead_created, for the outbound webhooks), then its message.
    assert [event["type"] for event in data["events"]] == ["lead_created", "new_message"]
    assert data["events"][1]["data"]["body"] == "Merhaba"
    assert data == staff_client.get(URL, {"cursor": start["cursor"]}).json()
    assert staff_client.post(V1).status_code == 405  # the spec's POST stays on the spec's path


def test_the_v1_feed_needs_a_token_or_a_login_and_the_permission(client, user_in_role, django_user_model):
    from accounts.roles import AGENTS
    from accounts.services import api_token_create

    anonymous = client.get(V1)
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Bearer")
    _, secret = api_token_create(user=user_in_role("agent", AGENTS), name="sync")
    assert client.get(V1, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    _, bare = api_token_create(user=django_user_model.objects.create_user(username="bare", is_staff=True), name="x")
    assert client.get(V1, HTTP_AUTHORIZATION=f"Bearer {bare}").json()["error"]["code"] == "permission_denied"
    inactive = user_in_role("gone", AGENTS)
    _, gone = api_token_create(user=inactive, name="x")
    inactive.is_active = False
    inactive.save()
    assert client.get(V1, HTTP_AUTHORIZATION=f"Bearer {gone}").status_code == 401


def _prune_all_but_the_last(events):
    import datetime

    from django.utils import timezone

    from notifications.services import events_prune

    Event.objects.filter(pk__in=[e.pk for e in events[:-1]]).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    assert events_prune(older_than=datetime.timedelta(days=7)) == len(events) - 1


def test_a_cursor_whose_events_were_pruned_gets_410_with_the_oldest_valid_cursor(staff_client, post_webhook):
    start = staff_client.get(URL).json()["cursor"]
    for body in ("bir", "iki", "üç"):
        post_webhook(whatsapp_text(body=body))
    events = list(Event.objects.order_by("pk"))
    _prune_all_but_the_last(events)
    response = staff_client.get(V1, {"cursor": start})
    assert response.status_code == 410
    body = response.json()["error"]
    assert (body["code"], body["fields"]) == ("cursor_pruned", {}) and "pruned" in body["message"]
    assert body["oldest_cursor"] == events[-2].pk and body["cursor"] == events[-1].pk
    assert staff_client.post(f"{URL}?cursor={events[0].pk}").status_code == 410
    assert staff_client.get(URL, {"cursor": start}).json() == response.json()
    resumed = staff_client.get(V1, {"cursor": body["oldest_cursor"]}).json()
    assert [event["id"] for event in resumed["events"]] == [events[-1].pk]  # from there on, nothing is missing
