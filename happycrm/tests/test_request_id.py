"""A request id per request: on every log line (JSON with DJANGO_LOG_FORMAT=json), stored on the webhook event, and
on the worker's lines for the batch that processes it."""

import io
import json
import logging
from logging.config import DictConfigurator

import pytest
from django.conf import settings as django_settings
from django.test import Client

from happycrm.request_id import RequestIdFilter, request_id_bound
from happycrm.tests.test_settings import run
from messaging.backends.twilio.tests.payloads import whatsapp_text
from messaging.models import Message, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """The lines the site's JSON format writes, from every logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(DictConfigurator({}).configure_custom(dict(django_settings.LOGGING["formatters"]["json"])))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.level = level


def test_each_answer_carries_a_new_id_and_a_clients_is_ignored_unless_trusted(settings):
    first, second = Client().get("/healthz"), Client().get("/healthz", HTTP_X_REQUEST_ID="client-chosen")
    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]
    assert second["X-Request-ID"] != "client-chosen"
    settings.TRUST_REQUEST_ID_HEADER = True
    assert Client().get("/healthz", HTTP_X_REQUEST_ID="lb-1a2b.3").headers["X-Request-ID"] == "lb-1a2b.3"
    for unsafe in ("two words", "x" * 65, "line\nbreak", ""):
        assert len(Client().get("/healthz", HTTP_X_REQUEST_ID=unsafe)["X-Request-ID"]) == 32


def test_the_webhook_stores_its_request_id_and_the_batch_logs_with_it(post_webhook, settings, json_log, monkeypatch):
    from messaging.tasks import process_webhook_events

    settings.TRUST_REQUEST_ID_HEADER = True
    monkeypatch.setattr("messaging.services.webhooks.webhook_events_queue.add_on_commit", lambda event_id: None)
    response = post_webhook(whatsapp_text(body="Merhaba"), HTTP_X_REQUEST_ID="req-webhook-1")
    assert response["X-Request-ID"] == "req-webhook-1"
    event = WebhookEvent.objects.get()
    assert event.request_id == "req-webhook-1" and event.processed_at is None

    with request_id_bound("req-of-the-worker"):  # the worker's own context: the batch's id wins
        process_webhook_events.delay([str(event.pk)])
    assert Message.objects.get().body == "Merhaba"
    lines = [line for line in json_log() if line["logger"] == "messaging.tasks"]
    assert lines and all(line["request_id"] == "req-webhook-1" for line in lines)
    assert lines[-1]["message"].startswith("Processed 1 webhook events")


def test_a_batch_of_events_from_several_requests_names_them_all(post_webhook, json_log, monkeypatch):
    from messaging.tasks import process_webhook_events

    monkeypatch.setattr("messaging.services.webhooks.webhook_events_queue.add_on_commit", lambda event_id: None)
    ids = [post_webhook(whatsapp_text(body=f"mesaj {n}"))["X-Request-ID"] for n in range(2)]
    events = WebhookEvent.objects.order_by("received_at")
    assert [event.request_id for event in events] == ids
    process_webhook_events.delay([str(event.pk) for event in events])
    summary = [line for line in json_log() if line["message"].startswith("Processed 2 webhook events")]
    assert summary[0]["request_id"] == ",".join(ids)


def test_a_failed_event_is_logged_with_its_own_request_id(post_webhook, json_log, monkeypatch):
    from messaging.services import webhooks
    from messaging.tasks import WebhookEventsFailed, process_webhook_events

    monkeypatch.setattr(webhooks.webhook_events_queue, "add_on_commit", lambda event_id: None)
    request_id = post_webhook(whatsapp_text(body="bozuk"))["X-Request-ID"]
    monkeypatch.setattr(webhooks, "inbound_message_receive", lambda **kwargs: 1 / 0)
    monkeypatch.setattr(webhooks, "inbound_messages_receive", lambda **kwargs: 1 / 0)
    with pytest.raises(WebhookEventsFailed):
        process_webhook_events.delay([str(WebhookEvent.objects.get().pk)])
    failed = [line for line in json_log() if line["message"].startswith("Webhook event")]
    assert failed[0]["request_id"] == request_id and "ZeroDivisionError" in failed[0]["exc_info"]


@pytest.mark.slow
def test_json_logs_are_one_object_per_line(tmp_path):
    code = """
import logging
from happycrm.request_id import request_id_bound
log = logging.getLogger("happycrm.example")
log.info("outside")
with request_id_bound("abc123"):
    log.warning("Müşteri %s", "Ayşe")
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("failed")
"""
    result = run(tmp_path, code=code, DJANGO_LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if '"happycrm.example"' in line]
    assert [(line["level"], line["message"], line["request_id"]) for line in lines] == [
        ("INFO", "outside", "-"),
        ("WARNING", "Müşteri Ayşe", "abc123"),
        ("ERROR", "failed", "abc123"),
    ]
    assert "ZeroDivisionError" in lines[2]["exc_info"] and lines[0]["time"].endswith("+00:00")
    assert run(tmp_path, code="", DJANGO_LOG_FORMAT="yaml").returncode != 0
