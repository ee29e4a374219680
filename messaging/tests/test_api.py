import pytest
from django.urls import reverse

from leads.tests.factories import LeadFactory
from messaging.models import WebhookEvent
from messaging.tests.factories import InboundMessageFactory, MessageFactory, WebhookEventFactory
from messaging.tests.twilio import new_sid, status_callback, whatsapp_text

pytestmark = pytest.mark.django_db

DIAGNOSTICS = reverse("messaging:webhook-diagnostics")
MESSAGES = reverse("messaging:debug-messages")


@pytest.fixture
def agent_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="agent"))
    return client


@pytest.mark.parametrize("url", [DIAGNOSTICS, MESSAGES + "?phone=05551234567"])
def test_debug_endpoints_are_for_staff_only(client, agent_client, url):
    assert client.get(url).status_code == 403
    assert agent_client.get(url).status_code == 403


def test_webhook_diagnostics(staff_client, post_webhook):
    post_webhook(whatsapp_text())
    post_webhook(status_callback(sid=new_sid(), status="delivered"))
    post_webhook(whatsapp_text(), signature="forged")
    WebhookEventFactory(attempts=3, last_error="ConnectionError: database went away")
    WebhookEventFactory(attempts=WebhookEvent.MAX_ATTEMPTS, last_error="ZeroDivisionError: boom")
    WebhookEventFactory()

    response = staff_client.get(DIAGNOSTICS)
    assert response.status_code == 200
    data = response.json()
    events = data["events"]
    assert (events["pending"], events["retrying"], events["failed"]) == (1, 1, 1)
    assert events["processed_by_outcome"] == {"stored": 1, "unmatched": 1}
    assert [row["last_error"] for row in data["recent_failures"]] == [
        "ZeroDivisionError: boom",
        "ConnectionError: database went away",
    ]
    assert len(data["unmatched_status_callbacks"]) == 1
    assert data["signature_rejections"]["today"] >= 1
    assert data["oldest_unprocessed_at"] is not None


@pytest.mark.parametrize("phone", ["0555 123 45 67", "+90 555 123 4567", "whatsapp:+905551234567", "5551234567"])
def test_messages_of_a_phone_in_any_form(staff_client, phone):
    lead = LeadFactory(phone="+905551234567")
    InboundMessageFactory(lead=lead, body="Merhaba")
    MessageFactory(lead=lead, status="failed", error_code=63016)
    MessageFactory(body="someone else")
    response = staff_client.get(MESSAGES, {"phone": phone})
    assert response.status_code == 200
    data = response.json()
    assert data["phone"] == "+905551234567"
    assert [item["id"] for item in data["leads"]] == [str(lead.pk)]
    assert len(data["messages"]) == 2
    failed = next(m for m in data["messages"] if m["status"] == "failed")
    assert "24 hours" in failed["error_explanation"]


@pytest.mark.parametrize(("query", "error"), [({}, "required"), ({"phone": "not a phone"}, "valid phone number")])
def test_messages_of_a_phone_refuses_bad_input(staff_client, query, error):
    response = staff_client.get(MESSAGES, query)
    assert response.status_code == 400
    assert error in response.json()["phone"][0]


def test_debug_messages_query_count_is_flat(staff_client, django_assert_max_num_queries):
    lead = LeadFactory(phone="+905551234567")
    InboundMessageFactory.create_batch(30, lead=lead)
    with django_assert_max_num_queries(8):
        response = staff_client.get(MESSAGES, {"phone": "05551234567"})
    assert len(response.json()["messages"]) == 30
