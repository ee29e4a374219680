"""What the Sentry SDK would send, captured by a transport of our own: the build's release and environment, and no
phone, message body, request body or cookie, from a webhook request as from a Celery task."""

import io
import json
import sys
from urllib.parse import urlencode

import pytest
import sentry_sdk
from django.core import signals
from sentry_sdk.transport import Transport

from happycrm.endpoints import Application
from happycrm.sentry import before_send, scrub_text, sentry_init
from messaging.backends.twilio.tests.payloads import WEBHOOK_PATH, sign, whatsapp_text

pytestmark = pytest.mark.django_db

PHONE = "+905551234567"
BODY = "Gizli mesaj metni"
NAME = "Ayşe Yılmaz"


class CapturingTransport(Transport):
    sent: list = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            payload = item.payload.json
            if payload is not None:
                CapturingTransport.sent.append(payload)


@pytest.fixture
def sentry_events():
    CapturingTransport.sent = []
    sentry_init(
        dsn="https://public@sentry.example.com/1",
        environment="staging",
        release="1a2b3c4",
        traces_sample_rate=1.0,
        transport=CapturingTransport,
    )
    yield lambda: [event for event in CapturingTransport.sent if "event_id" in event and "type" not in event]
    sentry_sdk.get_client().flush()
    sentry_sdk.init()  # no DSN: reporting off again


def wsgi_post(path: str, body: bytes, **headers) -> str:
    """A request through the site's WSGI application, as gunicorn hands it over (Sentry's WSGI middleware included:
    the test client skips it)."""
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "lead=42", "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "HTTP_HOST": "testserver", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, **headers,
    }  # fmt: skip
    status = []
    result = Application()(environ, lambda line, headers, exc_info=None: status.append(line))
    b"".join(result)
    result.close()
    return status[0]


def test_an_exception_inside_the_webhook_is_sent_without_personal_data(sentry_events, twilio_settings, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError(f"could not store the event from {kwargs['payload']['From']}")

    monkeypatch.setattr("messaging.backends.twilio.views.webhook_event_store", broken)
    monkeypatch.setattr(signals.request_finished, "receivers", [])  # the test's transaction keeps its connection
    payload = whatsapp_text(body=BODY, sender=PHONE, profile_name=NAME)
    signature = sign(f"http://testserver{WEBHOOK_PATH}?lead=42", payload)
    status = wsgi_post(
        WEBHOOK_PATH,
        urlencode(payload).encode(),
        HTTP_X_TWILIO_SIGNATURE=signature,
        HTTP_COOKIE="sessionid=s3ss10n-value",
        HTTP_USER_AGENT="TwilioProxy/1.1",
    )
    assert status.startswith("500")
    sentry_sdk.get_client().flush()
    (event,) = sentry_events()
    assert (event["environment"], event["release"]) == ("staging", "1a2b3c4")
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["exception"]["values"][-1]["value"] == "could not store the event from whatsapp:[phone]"
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"] == f"http://testserver{WEBHOOK_PATH}"
    assert event["request"]["headers"]["User-Agent"] == "TwilioProxy/1.1"
    assert not {"data", "cookies", "query_string"} & set(event["request"])
    assert not {"Cookie", "X-Twilio-Signature"} & set(event["request"]["headers"])
    assert "user" not in event and not sentry_sdk.get_client().should_send_default_pii()
    sent = json.dumps(CapturingTransport.sent, ensure_ascii=False)
    for personal in ("5551234567", BODY, "Ayşe", "s3ss10n-value", signature):
        assert personal not in sent
    assert all("vars" not in frame for frame in event["exception"]["values"][-1]["stacktrace"]["frames"])


def test_an_exception_inside_a_celery_task_is_sent_without_personal_data(sentry_events, monkeypatch):
    from messaging import tasks

    def broken(*, media_id):
        raise RuntimeError(f"no attachment for 0555 123 45 67: {media_id}")

    monkeypatch.setattr(tasks, "media_fetch", broken)
    with pytest.raises(RuntimeError):
        tasks.fetch_media.delay(PHONE)
    sentry_sdk.get_client().flush()
    (event,) = sentry_events()
    assert event["release"] == "1a2b3c4"
    assert event["exception"]["values"][-1]["value"] == "no attachment for [phone]: [phone]"
    assert event["extra"]["celery-job"]["task_name"] == "messaging.fetch_media"
    assert event["extra"]["celery-job"].get("args", "[Filtered]") == "[Filtered]"
    assert "5551234567" not in json.dumps(CapturingTransport.sent) and "555 123" not in json.dumps(
        CapturingTransport.sent
    )


def test_before_send_keeps_what_says_where_and_drops_the_rest():
    event = {
        "request": {
            "url": "https://crm.example.com/api/debug/messages?phone=%2B905551234567",
            "method": "GET",
            "query_string": "phone=%2B905551234567",
            "data": {"Body": BODY},
            "cookies": {"sessionid": "x"},
            "headers": {"Cookie": "sessionid=x", "X-Twilio-Signature": "sig", "User-Agent": "TwilioProxy/1.1"},
        },
        "user": {"ip_address": "10.0.0.1"},
        "breadcrumbs": {"values": [{"message": f"sent to {PHONE}", "data": {"db.params": [PHONE]}}]},
        "extra": {"payload": {"Body": BODY}},
        "sdk": {"name": "sentry.python.django"},
        "logentry": {"message": "Lead %s", "params": [PHONE]},
    }
    scrubbed = before_send(event, {})
    assert scrubbed["request"] == {
        "url": "https://crm.example.com/api/debug/messages",
        "method": "GET",
        "headers": {"User-Agent": "TwilioProxy/1.1"},
    }
    assert "user" not in scrubbed
    assert scrubbed["breadcrumbs"]["values"][0] == {"message": "sent to [phone]", "data": "[Filtered]"}
    assert scrubbed["extra"] == {"payload": "[Filtered]"} and scrubbed["sdk"] == {"name": "sentry.python.django"}
    assert scrubbed["logentry"]["params"] == ["[phone]"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from whatsapp:+90 (555) 123-4567.", "from whatsapp:[phone]."),
        ("0555 123 45 67", "[phone]"),
        ("event 550e8400-e29b-41d4-a716-446655440000", "event 550e8400-e29b-41d4-a716-446655440000"),
        ("at 2026-12-01T15:16:14.123456Z", "at 2026-12-01T15:16:14.123456Z"),
        ("sentry-sdk 2.75.0", "sentry-sdk 2.75.0"),
    ],
)
def test_phones_are_taken_out_of_text_and_ids_and_dates_are_not(text, expected):
    assert scrub_text(text) == expected


@pytest.mark.slow
def test_the_settings_configure_it_from_the_environment_and_the_build(tmp_path):
    from happycrm.tests.test_settings import PRODUCTION_SECRETS, run

    code = """
import json, sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
client = sentry_sdk.get_client()
print(json.dumps([client.options["environment"], client.options["release"], client.options["traces_sample_rate"],
    client.get_integration(DjangoIntegration) is not None, client.get_integration(CeleryIntegration) is not None,
    client.should_send_default_pii()]))
"""
    env = {**PRODUCTION_SECRETS, "SENTRY_DSN": "https://public@sentry.example.com/1"}
    result = run(tmp_path, module="happycrm.settings.production", code=code, APP_RELEASE="1a2b3c4", **env,
                 SENTRY_ENVIRONMENT="staging", SENTRY_TRACES_SAMPLE_RATE="0.25")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == ["staging", "1a2b3c4", 0.25, True, True, False]
    result = run(tmp_path, module="happycrm.settings.production", code=code, SENTRY_RELEASE="v2", **env)
    assert json.loads(result.stdout.splitlines()[-1])[:3] == ["production", "v2", 0.0]
