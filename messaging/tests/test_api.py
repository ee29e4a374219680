import pytest
from django.urls import reverse

from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import new_sid, status_callback, whatsapp_text
from messaging.models import Message, WebhookEvent
from messaging.tests.factories import InboundMessageFactory, MessageFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db

DIAGNOSTICS = reverse("api:webhook-diagnostics")
MESSAGES = reverse("api:debug-messages")


@pytest.mark.parametrize("url", [DIAGNOSTICS, MESSAGES + "?phone=05551234567"])
def test_debug_endpoints_need_their_permissions_not_just_staff(client, django_user_model, url):
    """Being staff is not enough: the messages need messaging.view_message + leads.view_lead, the
    diagnostics messaging.view_webhookevent (accounts.permissions)."""
    InboundMessageFactory(lead=LeadFactory(phone="+905551234567"), body="secret")
    assert client.get(url).status_code == 401
    client.force_login(django_user_model.objects.create_user(username="bare-staff", is_staff=True))
    response = client.get(url)
    assert response.status_code == 403
    assert "secret" not in response.content.decode()


def test_agents_read_a_phones_messages_but_not_the_diagnostics(agent_client):
    InboundMessageFactory(lead=LeadFactory(phone="+905551234567"), body="Merhaba")
    assert agent_client.get(MESSAGES, {"phone": "05551234567"}).json()["messages"][0]["body"] == "Merhaba"
    assert agent_client.get(DIAGNOSTICS).status_code == 403


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
    assert error in response.json()["error"]["fields"]["phone"][0]


def test_debug_messages_query_count_is_flat(staff_client, django_assert_max_num_queries):
    lead = LeadFactory(phone="+905551234567")
    InboundMessageFactory.create_batch(30, lead=lead)
    with django_assert_max_num_queries(8):
        response = staff_client.get(MESSAGES, {"phone": "05551234567"})
    assert len(response.json()["messages"]) == 30


def test_send_api_text_template_and_file(agent_client, django_capture_on_commit_callbacks):
    import datetime

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from messaging.backends import locmem
    from templates_app.tests.factories import TemplateFactory

    locmem.outbox.clear()
    lead = LeadFactory(phone="+905551234567", last_inbound_at=timezone.now() - datetime.timedelta(hours=1))
    url = reverse("api:lead-send", args=[lead.pk])
    with django_capture_on_commit_callbacks(execute=True):
        text = agent_client.post(url, {"body": "Merhaba"}, content_type="application/json")
        template = agent_client.post(
            url, {"template": str(TemplateFactory(content="Merhaba {{1}}").pk)}, content_type="application/json"
        )
        image = agent_client.post(
            url,
            {
                "file": SimpleUploadedFile("a.jpg", b"\xff\xd8\xff" + b"0" * 100, content_type="image/jpeg"),
                "body": "Foto",
            },
        )
    assert (text.status_code, template.status_code, image.status_code) == (201, 201, 201), image.content
    assert text.json()["status"] == "queued"
    assert [m.body for m in locmem.outbox] == ["Merhaba", "", "Foto"]
    assert locmem.outbox[1].content_sid
    assert Message.objects.filter(sent_by__username="agent").count() == 3


def test_send_api_refusals_are_400_with_the_reason(agent_client):
    from django.test import Client

    lead = LeadFactory(phone="+905551234567")
    url = reverse("api:lead-send", args=[lead.pk])
    response = agent_client.post(url, {"body": "Merhaba"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "window_closed"
    assert "24 hours" in response.json()["error"]["message"]
    assert agent_client.post(url, {"channel": "fax"}, content_type="application/json").status_code == 400
    missing = reverse("api:lead-send", args=["00000000-0000-0000-0000-000000000000"])
    assert agent_client.post(missing, {"body": "x"}, content_type="application/json").status_code == 404
    assert Client().post(url, {"body": "x"}, content_type="application/json").status_code == 401


def test_send_api_shares_the_services_rules_for_what_a_message_says(staff_client):
    """One rule for length and content: the service's (the page and the admin give the same refusal)."""
    import datetime

    from django.utils import timezone

    from templates_app.tests.factories import TemplateFactory

    lead = LeadFactory(phone="+905551234567", last_inbound_at=timezone.now() - datetime.timedelta(hours=1))
    url = reverse("api:lead-send", args=[lead.pk])
    too_long = staff_client.post(url, {"body": "x" * 1601}, content_type="application/json")
    assert too_long.status_code == 400
    assert too_long.json() == {
        "error": {
            "code": "too_long",
            "message": "The message is 1601 characters long; at most 1600 can be sent.",
            "fields": {},
        }
    }
    rendered = staff_client.post(
        url, {"template": str(TemplateFactory(content="x" * 1599 + " {{1}}").pk)}, content_type="application/json"
    )
    assert rendered.status_code == 400
    assert rendered.json()["error"]["code"] == "too_long"
    nul = staff_client.post(url, {"body": "Merha\x00ba"}, content_type="application/json")
    assert nul.status_code == 400 and "body" in nul.json()["error"]["fields"]
    assert not Message.objects.filter(is_from_lead=False).exists()
    assert staff_client.post(url, {"body": "x" * 1600}, content_type="application/json").status_code == 201
