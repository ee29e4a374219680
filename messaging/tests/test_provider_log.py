import datetime
import json
import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS, OPERATORS
from leads.tests.factories import LeadFactory
from messaging.backends.base import OutgoingMessage
from messaging.backends.httplog import body_text, exchange_logged, log_context, redact_text, redact_url
from messaging.backends.locmem import LocmemBackend
from messaging.backends.simulator import SimulatorBackend
from messaging.backends.twilio import client as twilio_client
from messaging.backends.twilio.tests.payloads import ACCOUNT_SID, AUTH_TOKEN, whatsapp_media
from messaging.models import Message, MessageMedia, ProviderLog
from messaging.services.outbound import message_send, message_send_media, message_send_template
from messaging.services.provider_log import provider_logs_prune
from messaging.tests.factories import MessageFactory
from messaging.tests.media_server import EXPECTED_AUTH, MediaServer
from templates_app.services import TemplateSyncError, templates_sync
from templates_app.tests.factories import TemplateFactory
from templates_app.tests.fake_content import FakeContentApi, content

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 200
CREDENTIALS = (AUTH_TOKEN, EXPECTED_AUTH, EXPECTED_AUTH.removeprefix("Basic "))
ROW_FIELDS = ["url", "error", "request_body", "response_body"]


def stored_text(row: ProviderLog) -> str:
    return "\n".join(str(getattr(row, name)) for name in ROW_FIELDS)


def assert_no_credentials(rows):
    assert rows
    for row in rows:
        text = stored_text(row)
        for secret in CREDENTIALS:
            assert secret not in text, f"{secret!r} in {row.kind} row"
        assert "Basic " not in text


@pytest.fixture
def lead():
    return LeadFactory(phone="+905551234567", last_inbound_at=timezone.now() - datetime.timedelta(hours=1))


# Sends through the real twilio client.


def test_a_send_is_logged_with_its_answer_and_its_message(twilio, lead):
    with twilio.commit():
        message = message_send(lead=lead, body="Merhaba Ayşe Hanım")
    row = ProviderLog.objects.get()
    assert (row.provider, row.kind, row.method, row.status_code) == ("twilio", "send", "POST", 201)
    assert row.url == f"{twilio.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert 0 <= row.duration_ms < 10_000
    assert row.error == ""
    sent = json.loads(row.request_body)
    assert sent["To"] == "whatsapp:+905551234567" and sent["Body"] == "Merhaba Ayşe Hanım"
    assert json.loads(row.response_body)["sid"] == Message.objects.get().twilio_message_sid
    assert (row.message, row.template) == (message, None)
    assert_no_credentials([row])


def test_a_template_send_is_linked_to_its_template(twilio, lead):
    template = TemplateFactory(content="Merhaba {{1}}")
    with twilio.commit():
        message = message_send_template(lead=lead, template=template)
    row = ProviderLog.objects.get()
    assert (row.message, row.template) == (message, template)
    assert json.loads(row.request_body)["ContentSid"] == template.content_sid


def test_the_signed_part_of_a_public_media_link_is_never_stored(twilio, lead):
    with twilio.commit():
        message_send_media(lead=lead, upload=SimpleUploadedFile("a.jpg", JPEG, content_type="image/jpeg"))
    link = twilio.forms[0]["MediaUrl"]
    token = link.rsplit("/", 1)[1]
    row = ProviderLog.objects.get()
    assert json.loads(row.request_body)["MediaUrl"] == ["https://crm.example.com/m/[redacted]"]
    assert token not in stored_text(row)
    assert token.split(":")[-1] not in stored_text(row)


def test_a_refused_send_is_logged_with_the_providers_answer(twilio, lead):
    twilio.replies.append(("error", 400, 21211, "Invalid 'To' Phone Number"))
    with twilio.commit():
        message = message_send(lead=lead, body="Merhaba")
    row = ProviderLog.objects.get()
    assert (row.status_code, row.error, row.message) == (400, "HTTP 400", message)
    assert json.loads(row.response_body)["code"] == 21211


def test_a_timeout_is_logged_with_no_status_and_the_error(twilio, lead, monkeypatch):
    monkeypatch.setattr(twilio_client, "HTTP_TIMEOUT", 0.3)
    twilio.replies.append(("sleep", 1.0))
    with twilio.commit():
        message = message_send(lead=lead, body="Merhaba")
    row = ProviderLog.objects.get()
    assert row.status_code is None and row.response_body == ""
    assert row.error.startswith("ReadTimeout: ")
    assert 250 <= row.duration_ms < 5000
    assert row.message == message
    assert json.loads(row.request_body)["Body"] == "Merhaba"


def test_a_refused_connection_is_logged(twilio, twilio_settings, lead):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    twilio_settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{port}"
    with twilio.commit():
        message_send(lead=lead, body="Merhaba")
    rows = list(ProviderLog.objects.all())  # retried by the eager task until it gives up: one row per attempt
    assert rows and all(row.status_code is None and row.error.startswith("ConnectionError: ") for row in rows)


def test_logging_that_fails_never_changes_the_send(twilio, lead, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(ProviderLog.objects, "create", broken)
    with twilio.commit():
        message = message_send(lead=lead, body="Merhaba")
    message.refresh_from_db()
    assert message.twilio_message_sid and message.status == "queued"


def test_the_stand_ins_make_no_exchange_and_log_none(outbox):
    outgoing = OutgoingMessage(to="+905551234567", channel="whatsapp", body="Merhaba")
    LocmemBackend().send(outgoing)
    SimulatorBackend().send(outgoing)  # its delivery ticks start after commit, never in this test
    assert len(outbox) == 1
    assert not ProviderLog.objects.exists()


# Media downloads through the outbound guard.


@pytest.fixture
def media_server(twilio_settings):
    with MediaServer() as server:
        twilio_settings.TWILIO_API_BASE_URL = server.base_url
        twilio_settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
        yield server


def test_a_media_download_is_logged_for_its_message(post_webhook, media_server):
    url = media_server.media_url("ME1", JPEG, "image/jpeg")
    post_webhook(whatsapp_media(media_urls=[url]))
    media = MessageMedia.objects.get()
    assert media.status == "stored"
    row = ProviderLog.objects.get()
    assert (row.provider, row.kind, row.method, row.status_code, row.error) == (
        "twilio",
        "media_download",
        "GET",
        200,
        "",
    )
    assert (row.url, row.message) == (url, media.message)
    assert row.response_body == (
        f"Answered by http://localhost:{media_server.port}/cdn/ME1?X-Amz-Signature=[redacted]\n\n"
        f"[{len(JPEG)} bytes of image/jpeg]"
    )
    assert "abc" not in row.response_body
    assert_no_credentials([row])


def test_a_failed_media_download_is_logged_with_the_error(post_webhook, media_server):
    media_server.not_found_first["ME1"] = 1
    post_webhook(whatsapp_media(media_urls=[media_server.media_url("ME1", JPEG)]))
    row = ProviderLog.objects.get()
    assert (row.status_code, row.error, row.response_body) == (404, "HTTP 404", "not yet")


def test_a_refused_media_url_is_logged_with_the_reason(post_webhook, media_server):
    post_webhook(whatsapp_media(media_urls=["https://evil.example.com/x.jpg"]))
    row = ProviderLog.objects.get()
    assert row.status_code is None
    assert row.error.startswith("OutboundRequestRefused: not a Twilio media URL")


# The template catalogue.


@pytest.fixture
def content_api(twilio_settings):
    with FakeContentApi(ACCOUNT_SID, AUTH_TOKEN) as api:
        api.items = [
            content(n, f"t{n}", {"twilio/text": {"body": f"Merhaba {n}"}}, {"status": "approved"}) for n in range(3)
        ]
        twilio_settings.TWILIO_CONTENT_BASE_URL = api.base_url
        twilio_settings.MESSAGING_BACKEND = "messaging.backends.twilio.TwilioBackend"
        yield api


def test_every_catalogue_page_is_logged_without_credentials(content_api):
    templates_sync()
    rows = list(ProviderLog.objects.order_by("created_at", "pk"))
    assert [(row.kind, row.method, row.status_code) for row in rows] == [("template_page", "GET", 200)] * 2
    assert rows[0].url == f"{content_api.base_url}/v1/ContentAndApprovals?PageSize=500"
    assert "PageToken" not in rows[0].url and "Page=1" in rows[1].url
    assert [item["friendly_name"] for item in json.loads(rows[0].response_body)["contents"]] == ["t0", "t1"]
    assert all(row.message is None and row.template is None for row in rows)
    assert_no_credentials(rows)


def test_a_refused_catalogue_page_is_logged(content_api, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong-token"
    with pytest.raises(TemplateSyncError):
        templates_sync()
    row = ProviderLog.objects.get()
    assert (row.status_code, row.error) == (401, "HTTP 401")
    assert "wrong-token" not in stored_text(row)


# Redaction.


def test_secret_values_in_forms_and_json_are_redacted():
    form = {"To": "+905551234567", "Password": "hunter22", "auth_token": "abc123", "ApiKey": "k-1", "Body": "Selam"}
    assert json.loads(body_text(form)) == {
        "To": "+905551234567",
        "Password": "[redacted]",
        "auth_token": "[redacted]",
        "ApiKey": "[redacted]",
        "Body": "Selam",
    }
    document = json.dumps({"data": [{"client_secret": "s3cr3t", "types": {"whatsapp/authentication": {"x": 1}}}]})
    assert json.loads(body_text(document)) == {
        "data": [{"client_secret": "[redacted]", "types": {"whatsapp/authentication": {"x": 1}}}]
    }


def test_secrets_in_query_strings_urls_and_text_are_redacted():
    url = "https://user:pw@api.example.com/x?token=t0k3n&Page=2&X-Amz-Signature=abc&X-Amz-Credential=AK&PageToken=PA1"
    assert redact_url(url) == (
        "https://[redacted]@api.example.com/x?token=[redacted]&Page=2&X-Amz-Signature=[redacted]"
        "&X-Amz-Credential=[redacted]&PageToken=PA1"
    )
    text = 'Authorization: Basic QUM6dG9r\nX-Request: 1\n{"access_token": "eyJ"} password=pw1&ok=1'
    assert redact_text(text) == (
        'Authorization: [redacted]\nX-Request: 1\n{"access_token": "[redacted]"} password=[redacted]&ok=1'
    )


def test_the_credentials_sent_are_redacted_wherever_they_appear():
    assert redact_text("echo: the-auth-token-value and more", ("the-auth-token-value",)) == "echo: [redacted] and more"
    assert (
        body_text({"note": "the-auth-token-value"}, secrets=("the-auth-token-value",)) == '{\n  "note": "[redacted]"\n}'
    )


def test_a_public_media_link_is_redacted_plain_or_encoded():
    media = MessageMedia.objects.create(message=MessageFactory(), position=0, status="stored")
    path = media.public_path()
    signed = path.removeprefix("/m/")
    for text in [
        f"https://crm.example.com{path}",
        f"x=https%3A%2F%2Fcrm.example.com%2Fm%2F{signed.replace(':', '%3A')}",
    ]:
        assert signed.split(":")[-1] not in redact_text(text)
    assert redact_text(f"https://crm.example.com{path}") == "https://crm.example.com/m/[redacted]"
    assert redact_text("https://example.com/m/readme") == "https://example.com/m/readme"


def test_bodies_are_truncated_and_binary_is_described():
    with exchange_logged(provider="p", kind="send", method="post", url="https://p.example.com/") as exchange:
        exchange.answered(status=200, body="x" * 50_000)  # one long word: redacted in linear time
    row = ProviderLog.objects.get()
    assert len(row.response_body) == ProviderLog.MAX_BODY_LENGTH
    assert row.response_body.endswith("[truncated: 50000 characters in all]")
    assert row.method == "POST"
    assert body_text(b"\x89PNG....", content_type="image/png") == "[8 bytes of image/png]"


def test_the_context_says_what_an_exchange_concerns_and_nests():
    message, template = MessageFactory(), TemplateFactory()
    with (
        log_context(template=template),
        log_context(message=message),
        exchange_logged(provider="p", kind="send", method="GET", url="https://p.example.com/"),
    ):
        pass
    with exchange_logged(provider="p", kind="send", method="GET", url="https://p.example.com/"):
        pass
    inside, outside = ProviderLog.objects.order_by("pk")
    assert (inside.message, inside.template) == (message, template)
    assert (outside.message, outside.template) == (None, None)


def test_an_exchange_that_raises_is_logged_and_raises():
    with pytest.raises(OSError), exchange_logged(provider="p", kind="send", method="GET", url="https://p.example.com/"):
        raise OSError("network is down")
    assert ProviderLog.objects.get().error == "OSError: network is down"


# Retention.


def make_log(age: datetime.timedelta, **kwargs) -> ProviderLog:
    return ProviderLog.objects.create(
        provider="twilio",
        kind=ProviderLog.Kind.SEND,
        method="POST",
        url="https://api.example.com/",
        duration_ms=10,
        created_at=timezone.now() - age,
        **kwargs,
    )


def test_pruning_deletes_only_rows_older_than_the_retention_by_id_ranges(django_assert_num_queries):
    old = [make_log(datetime.timedelta(days=15, minutes=5 - n)) for n in range(5)]
    recent = [make_log(datetime.timedelta(days=13)), make_log(datetime.timedelta(minutes=1))]
    assert provider_logs_prune(older_than=datetime.timedelta(days=14), dry_run=True) == 5
    # the range's ends, then three ranges of two keys: each one DELETE in its own transaction (a savepoint here)
    with django_assert_num_queries(2 + 3 * 3):
        assert provider_logs_prune(older_than=datetime.timedelta(days=14), batch_size=2) == 5
    assert set(ProviderLog.objects.values_list("pk", flat=True)) == {row.pk for row in recent}
    assert not ProviderLog.objects.filter(pk__in=[row.pk for row in old]).exists()


def test_a_deleted_message_leaves_its_exchanges():
    message = MessageFactory()
    row = make_log(datetime.timedelta(0), message=message)
    message.delete()
    row.refresh_from_db()
    assert row.message is None


# Admin.


def test_the_log_lists_flat_and_filters(staff_client, django_assert_max_num_queries):
    for _ in range(20):
        make_log(datetime.timedelta(0), message=MessageFactory(), status_code=201)
    make_log(datetime.timedelta(0), error="ReadTimeout: too slow")
    url = reverse("admin:messaging_providerlog_changelist")
    with django_assert_max_num_queries(10):
        response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 21
    assert "ReadTimeout: too slow" in response.content.decode()
    assert staff_client.get(url, {"error__isempty": "0"}).context["cl"].result_count == 1
    assert staff_client.get(url, {"q": "api.example.com"}).context["cl"].result_count == 21


def test_the_detail_shows_the_bodies_and_nothing_can_be_changed(staff_client):
    row = make_log(datetime.timedelta(0), request_body='{\n  "Body": "<b>Merhaba</b>"\n}', response_body="{}")
    response = staff_client.get(reverse("admin:messaging_providerlog_change", args=[row.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<pre" in page and "&lt;b&gt;Merhaba&lt;/b&gt;" in page
    assert 'name="url"' not in page
    assert staff_client.get(reverse("admin:messaging_providerlog_add")).status_code == 403
    assert staff_client.post(reverse("admin:messaging_providerlog_delete", args=[row.pk])).status_code == 403
    assert ProviderLog.objects.filter(pk=row.pk).exists()


def test_an_operator_reads_the_log_and_an_agent_cannot(user_in_role):
    operator_client, agent_client = Client(), Client()
    operator_client.force_login(user_in_role("operator", OPERATORS, is_staff=True))
    agent_client.force_login(user_in_role("agent", AGENTS))
    row = make_log(datetime.timedelta(0))
    assert operator_client.get(reverse("admin:messaging_providerlog_changelist")).status_code == 200
    assert operator_client.get(reverse("admin:messaging_providerlog_change", args=[row.pk])).status_code == 200
    for url in [
        reverse("admin:messaging_providerlog_changelist"),
        reverse("admin:messaging_providerlog_change", args=[row.pk]),
    ]:
        response = agent_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_message_and_a_template_link_to_their_exchanges(staff_client):
    template = TemplateFactory()
    message = MessageFactory(template=template)
    page = staff_client.get(reverse("admin:messaging_message_change", args=[message.pk])).content.decode()
    assert f"/admin/messaging/providerlog/?message__id__exact={message.pk}" in page
    page = staff_client.get(reverse("admin:templates_app_template_change", args=[template.pk])).content.decode()
    assert f"/admin/messaging/providerlog/?template__id__exact={template.pk}" in page
    page = staff_client.get(reverse("admin:templates_app_template_changelist")).content.decode()
    assert "/admin/messaging/providerlog/?kind__exact=template_page" in page
    make_log(datetime.timedelta(0), message=message, template=template)
    make_log(datetime.timedelta(0))
    url = reverse("admin:messaging_providerlog_changelist")
    assert staff_client.get(url, {"message__id__exact": message.pk}).context["cl"].result_count == 1
    assert staff_client.get(url, {"template__id__exact": template.pk}).context["cl"].result_count == 1
