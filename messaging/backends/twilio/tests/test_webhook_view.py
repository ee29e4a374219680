import logging
from urllib.parse import unquote

import pytest
from django.db import InterfaceError, OperationalError
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from messaging.backends.twilio import views
from messaging.backends.twilio.tests.payloads import WEBHOOK_PATH, new_sid, sign, sms, status_callback, whatsapp_text
from messaging.models import Message, MessageStatus, WebhookEvent
from messaging.selectors import signature_rejections
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def test_path_is_exact_and_needs_no_csrf_token(post_webhook):
    assert reverse("messaging:twilio-webhook") == WEBHOOK_PATH
    response = post_webhook(whatsapp_text())
    assert response.status_code == 200


def test_inbound_message_is_answered_with_empty_twiml(post_webhook):
    response = post_webhook(whatsapp_text(body="Merhaba"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content.decode() == EMPTY_TWIML
    event = WebhookEvent.objects.get()
    assert event.kind == WebhookEvent.Kind.INBOUND
    assert event.signature_valid is True
    assert event.processed_at is not None
    assert Message.objects.get().body == "Merhaba"


def test_status_callback_is_answered_with_plain_200(post_webhook):
    response = post_webhook(status_callback(sid="SM" + "f" * 32, status="delivered"))
    assert response.status_code == 200
    assert response.content == b""
    assert WebhookEvent.objects.get().kind == WebhookEvent.Kind.STATUS


def test_every_field_is_kept_including_unknown_ones(post_webhook):
    payload = whatsapp_text(BrandNewTwilioField="42", ChannelMetadata='{"type":"whatsapp"}')
    assert post_webhook(payload).status_code == 200
    assert WebhookEvent.objects.get().payload == payload


def test_wrong_signature_is_refused_with_nothing_stored(post_webhook, caplog):
    with caplog.at_level(logging.WARNING, logger="messaging.views"):
        response = post_webhook(whatsapp_text(), signature="bm90IHRoZSBzaWduYXR1cmU=")
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert not Message.objects.exists()
    refusals = [record for record in caplog.records if "refused" in record.getMessage()]
    assert len(refusals) == 1
    assert "invalid signature" in refusals[0].getMessage()


def test_missing_signature_is_refused(post_webhook):
    before = signature_rejections()["today"]
    response = post_webhook(whatsapp_text(), signature="")
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert signature_rejections()["today"] == before + 1


def test_signature_over_another_token_is_refused(post_webhook):
    payload = whatsapp_text()
    forged = sign(f"http://testserver{WEBHOOK_PATH}", payload, token="someone-elses-token")
    assert post_webhook(payload, signature=forged).status_code == 403


def test_tampered_body_is_refused(post_webhook):
    payload = whatsapp_text(body="Merhaba")
    signature = sign(f"http://testserver{WEBHOOK_PATH}", payload)
    assert post_webhook({**payload, "Body": "Changed"}, signature=signature).status_code == 403


def test_validation_is_off_only_when_configured(post_webhook, settings):
    settings.TWILIO_VALIDATE_SIGNATURE = False
    response = post_webhook(whatsapp_text(), signature="")
    assert response.status_code == 200
    assert WebhookEvent.objects.get().signature_valid is None


def test_public_base_url_and_query_are_what_twilio_signed(post_webhook, settings):
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    path = f"{WEBHOOK_PATH}?source=twilio"
    assert post_webhook(sms(), path=path, signed_url=f"https://crm.example.com{path}").status_code == 200
    # Signed for the internal URL the request really hit: not what Twilio signs once a public URL is set.
    assert post_webhook(sms(), path=path, signed_url=f"http://testserver{path}").status_code == 403
    # The query string is part of what is signed.
    assert post_webhook(sms(), path=path, signed_url=f"https://crm.example.com{WEBHOOK_PATH}").status_code == 403


def test_https_behind_a_proxy_only_when_trusted(post_webhook, settings):
    settings.ALLOWED_HOSTS = ["crm.example.com"]
    public = f"https://crm.example.com{WEBHOOK_PATH}"
    proxy_headers = {"HTTP_HOST": "crm.example.com", "HTTP_X_FORWARDED_PROTO": "https"}

    settings.SECURE_PROXY_SSL_HEADER = None
    assert post_webhook(sms(), signed_url=public, **proxy_headers).status_code == 403

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert post_webhook(sms(), signed_url=public, **proxy_headers).status_code == 200


def test_a_url_fragment_plays_no_part(post_webhook):
    # Twilio's connection overrides (#rc=2&rp=5xx) stay on Twilio's side and are not signed.
    assert post_webhook(sms(), signed_url=f"http://testserver{WEBHOOK_PATH}").status_code == 200


def test_not_form_encoded_is_a_400(client, twilio_settings):
    response = client.post(WEBHOOK_PATH, {"MessageSid": "SM1"}, content_type="application/json")
    assert response.status_code == 400
    assert response.content.decode().strip() == "Expected application/x-www-form-urlencoded form data."
    assert not WebhookEvent.objects.exists()


def test_missing_message_sid_is_a_400(post_webhook):
    payload = whatsapp_text()
    for key in ("MessageSid", "SmsSid", "SmsMessageSid"):
        payload.pop(key)
    response = post_webhook(payload)
    assert response.status_code == 400
    assert response.content.decode().strip() == "Missing MessageSid."
    assert not WebhookEvent.objects.exists()


def test_oversized_body_is_a_400(post_webhook):
    response = post_webhook(whatsapp_text(body="x" * 70_000))
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert not WebhookEvent.objects.exists()


def test_only_post(client):
    assert client.get(WEBHOOK_PATH).status_code == 405


def test_database_down_is_a_503_not_a_500(post_webhook, monkeypatch):
    def refuse(**kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(views, "webhook_event_store", refuse)
    response = post_webhook(whatsapp_text())
    assert response.status_code == 503
    assert response.content.decode().strip() == "Temporarily unable to store the request."


def signed_repeated(payload: dict) -> str:
    """Twilio signs every value of a repeated field; a plain dict cannot say that, a MultiValueDict can."""
    fields = MultiValueDict({key: value if isinstance(value, list) else [value] for key, value in payload.items()})
    return sign(f"http://testserver{WEBHOOK_PATH}", fields)


def test_a_nul_character_is_stored_replaced_and_kept_exactly(post_webhook, staff_client):
    payload = whatsapp_text(body="Merhaba\x00dünya", profile_name="Ay\x00şe", **{"Odd\x00Field": "x\x00"})
    response = post_webhook(payload)
    assert response.status_code == 200
    assert response.content.decode() == EMPTY_TWIML
    event = WebhookEvent.objects.get()
    assert event.payload["Body"] == "Merhaba\ufffddünya"
    assert event.payload["Odd\ufffdField"] == "x\ufffd"
    assert event.original_fields == {
        "Body": "Merhaba%00d%C3%BCnya",
        "ProfileName": "Ay%00%C5%9Fe",
        "Odd%00Field": "x%00",
    }
    recovered = {unquote(name): unquote(value) for name, value in event.original_fields.items()}
    assert recovered == {"Body": "Merhaba\x00dünya", "ProfileName": "Ay\x00şe", "Odd\x00Field": "x\x00"}
    assert event.outcome == WebhookEvent.Outcome.STORED
    message = Message.objects.get()
    assert message.body == "Merhaba\ufffddünya"
    assert message.lead.name == "Ay\ufffdşe"
    page = staff_client.get(reverse("admin:messaging_webhookevent_change", args=[event.pk]))
    assert "Merhaba%00d%C3%BCnya" in page.content.decode()


def test_a_nul_in_a_status_callback_is_stored_and_applied(post_webhook):
    message = MessageFactory(status=MessageStatus.SENT, twilio_message_sid=new_sid())
    payload = status_callback(
        sid=message.twilio_message_sid, status="failed", error_code=30008, ErrorMessage="Unknown\x00error"
    )
    assert post_webhook(payload).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_message == "Unknown\ufffderror"
    assert WebhookEvent.objects.get().original_fields == {"ErrorMessage": "Unknown%00error"}


def test_an_over_long_sid_is_stored_and_rejected_with_its_reason(post_webhook, staff_client):
    sid = "SM" + "a" * 100
    response = post_webhook(whatsapp_text(sid=sid))
    assert response.status_code == 200
    assert response.content.decode() == EMPTY_TWIML
    event = WebhookEvent.objects.get()
    assert event.payload["MessageSid"] == sid
    assert event.message_sid == ""
    assert event.outcome == WebhookEvent.Outcome.REJECTED
    assert event.last_error == "The field MessageSid is 102 characters long; at most 64 can be processed."
    assert not Message.objects.exists()
    changelist = staff_client.get(reverse("admin:messaging_webhookevent_changelist"), {"outcome__exact": "rejected"})
    assert "The field MessageSid is 102 characters long" in changelist.content.decode()


def test_a_repeated_status_is_stored_and_rejected_not_a_500(post_webhook):
    message = MessageFactory(status=MessageStatus.SENT, twilio_message_sid=new_sid())
    payload = status_callback(sid=message.twilio_message_sid, status="delivered")
    payload["MessageStatus"] = ["delivered", "read"]
    response = post_webhook(payload, signature=signed_repeated(payload))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.kind == WebhookEvent.Kind.STATUS
    assert event.payload["MessageStatus"] == ["delivered", "read"]
    assert event.outcome == WebhookEvent.Outcome.REJECTED
    assert event.last_error == "The field MessageStatus is repeated (2 values); it must have one value."
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.parametrize("field", ["MessageSid", "Body", "From", "ProfileName", "NumMedia", "MediaUrl0"])
def test_a_repeated_field_an_inbound_message_needs_is_rejected(post_webhook, field):
    payload = whatsapp_text(
        NumMedia="1", MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    )
    payload[field] = [payload[field], payload[field] + "2"]
    response = post_webhook(payload, signature=signed_repeated(payload))
    assert response.status_code == 200
    assert response.content.decode() == EMPTY_TWIML
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.REJECTED
    assert event.last_error == f"The field {field} is repeated (2 values); it must have one value."
    assert not Message.objects.exists()


def test_a_lost_connection_is_a_503_too(post_webhook, monkeypatch):
    def lose(**kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(views, "webhook_event_store", lose)
    assert post_webhook(whatsapp_text()).status_code == 503


def test_values_too_long_to_keep_cost_the_attachment_not_the_message(post_webhook):
    """A media URL or type longer than its column: the text is stored, the attachment says why it was refused."""
    origin = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/"
    payload = whatsapp_text(
        body="İki ek",
        NumMedia="2",
        MediaUrl0=origin + "x" * 2100,
        MediaContentType0="image/jpeg",
        MediaUrl1=origin + "ME2",
        MediaContentType1="image/" + "x" * 200,
    )
    assert post_webhook(payload).status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.STORED
    message = Message.objects.get()
    assert message.body == "İki ek"
    long_url, long_type = message.media.order_by("position")
    assert (long_url.status, long_url.source_url) == ("failed", "")
    assert long_url.error == "Refused: the URL is 2166 characters long; at most 2000 are kept."
    assert (long_type.source_url, long_type.content_type) == (origin + "ME2", "")


def test_an_error_code_out_of_any_range_still_fails_the_message(post_webhook):
    message = MessageFactory(status=MessageStatus.SENT, twilio_message_sid=new_sid())
    payload = status_callback(sid=message.twilio_message_sid, status="failed", error_code="99999999999999999999")
    assert post_webhook(payload).status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.STATUS_APPLIED
    message.refresh_from_db()
    assert (message.status, message.error_code) == (MessageStatus.FAILED, None)


@pytest.fixture
def through_wsgi(twilio_settings, django_capture_on_commit_callbacks):
    """POST a signed payload through the site's WSGI application, the way gunicorn calls it."""
    import io
    import sys
    from urllib.parse import urlencode

    from django.core import signals
    from django.db import close_old_connections

    from happycrm.endpoints import Application

    signals.request_started.disconnect(close_old_connections)  # the test's transaction stays open
    signals.request_finished.disconnect(close_old_connections)
    application = Application()

    def post(payload):
        body = urlencode(payload).encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": WEBHOOK_PATH, "QUERY_STRING": "", "SERVER_NAME": "testserver",
            "SERVER_PORT": "80", "HTTP_HOST": "testserver", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(body), "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_TWILIO_SIGNATURE": sign(f"http://testserver{WEBHOOK_PATH}", payload), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }  # fmt: skip
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer.update(status=status, headers=dict(headers))

        with django_capture_on_commit_callbacks(execute=True):
            result = application(environ, start_response)
        answer["body"] = b"".join(result).decode()
        result.close()
        return answer

    yield post
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_served_without_the_pages_middleware_and_stored(through_wsgi):
    answer = through_wsgi(whatsapp_text(body="Merhaba"))
    assert (answer["status"], answer["body"]) == ("200 OK", EMPTY_TWIML)
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in answer["headers"] and "Content-Security-Policy" not in answer["headers"]
    assert WebhookEvent.objects.get().signature_valid is True
    assert Message.objects.get().body == "Merhaba"


def test_database_down_is_still_a_503_without_the_pages_middleware(through_wsgi, monkeypatch):
    def unreachable(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "webhook_event_store", unreachable)
    assert through_wsgi(whatsapp_text())["status"].startswith("503")
