import logging

import pytest
from django.db import OperationalError
from django.urls import reverse

from messaging import views
from messaging.models import Message, WebhookEvent
from messaging.selectors import signature_rejections
from messaging.tests.twilio import WEBHOOK_PATH, sign, sms, status_callback, whatsapp_text

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
