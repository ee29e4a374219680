"""Nothing that reached the server is lost: a broker that is down, a task that never ran, a failing handler."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from happycrm.celery import app
from messaging.backends.twilio.tests.payloads import whatsapp_text
from messaging.models import Message, WebhookEvent
from messaging.services import webhooks
from messaging.services.webhooks import webhook_event_process, webhook_events_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    """A real Redis URL where nothing listens: publishing fails the way it does in production."""
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = "redis://127.0.0.1:9/0", False
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url, app.conf.task_always_eager = saved
    app._pool = None
    app.amqp._producer_pool = None


def age(event, seconds=120):
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - datetime.timedelta(seconds=seconds))


def test_broker_down_keeps_the_event_and_the_sweep_delivers_it(post_webhook, broker_down, run_sweep, caplog):
    response = post_webhook(whatsapp_text(body="Broker yokken geldim"))
    webhook_events_queue.flush()  # what the background flusher does within 20 ms
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.processed_at is None and event.attempts == 0
    assert not Message.objects.exists()
    assert "the sweep will pick it up" in caplog.text

    age(event)
    app.conf.task_always_eager = True  # the broker is back (tests run its tasks in-process)
    counts = run_sweep()
    assert counts["events"] == 1
    assert Message.objects.get().body == "Broker yokken geldim"
    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.STORED


def test_sweep_leaves_fresh_events_to_their_task(post_webhook, broker_down, run_sweep):
    post_webhook(whatsapp_text())
    webhook_events_queue.flush()
    app.conf.task_always_eager = True
    assert run_sweep()["events"] == 0


def test_transient_failure_is_recorded_retried_and_then_succeeds(post_webhook, monkeypatch):
    calls = []
    real = webhooks.inbound_message_receive

    def flaky(**kwargs):
        calls.append(kwargs["message"].sid)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(webhooks, "inbound_message_receive", flaky)
    post_webhook(whatsapp_text(body="ikinci denemede"))
    event = WebhookEvent.objects.get()
    assert (event.processed_at, event.attempts) == (None, 1)
    assert event.last_error == "ConnectionError: database went away"
    assert not Message.objects.exists()

    age(event)
    call_command("reprocess_webhooks")
    event.refresh_from_db()
    assert (event.outcome, event.attempts, event.last_error) == ("stored", 2, "")
    assert Message.objects.get().body == "ikinci denemede"


def test_processing_twice_changes_nothing(post_webhook):
    post_webhook(whatsapp_text())
    event = WebhookEvent.objects.get()
    again = webhook_event_process(event_id=event.pk)
    assert (again.attempts, again.outcome) == (1, "stored")
    assert Message.objects.count() == 1


def test_events_past_their_retries_need_include_failed(post_webhook, monkeypatch):
    monkeypatch.setattr(webhooks, "inbound_message_receive", lambda **kwargs: 1 / 0)
    post_webhook(whatsapp_text())
    event = WebhookEvent.objects.get()
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=WebhookEvent.MAX_ATTEMPTS)
    age(event)
    monkeypatch.undo()

    call_command("reprocess_webhooks")
    event.refresh_from_db()
    assert event.processed_at is None

    call_command("reprocess_webhooks", "--include-failed")
    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.STORED


def test_rejected_events_can_be_retried_after_a_fix(post_webhook, settings):
    settings.DEFAULT_PHONE_REGION = "ZZ"
    post_webhook(whatsapp_text(sender="05551234567", From="05551234567"))
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.REJECTED

    settings.DEFAULT_PHONE_REGION = "TR"
    call_command("reprocess_webhooks", "--event", str(event.pk), "--retry-rejected")
    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.STORED
    assert Message.objects.get().lead.phone == "+905551234567"


def test_command_reports_failures_with_a_non_zero_exit(post_webhook, monkeypatch, capsys):
    monkeypatch.setattr(webhooks, "inbound_message_receive", lambda **kwargs: 1 / 0)
    post_webhook(whatsapp_text())
    age(WebhookEvent.objects.get())
    with pytest.raises(CommandError, match="0 processed, 0 rejected, 1 failed"):
        call_command("reprocess_webhooks")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event", "not-a-uuid"], "Not an event id"),
        (["--event", "00000000-0000-0000-0000-000000000000"], "No webhook event"),
        (["--older-than", "-1"], "--older-than"),
    ],
)
def test_command_refuses_bad_input_in_one_line(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("reprocess_webhooks", *args)


def test_command_queue_mode_is_the_periodic_sweep(
    post_webhook, broker_down, capsys, django_capture_on_commit_callbacks
):
    post_webhook(whatsapp_text())
    webhook_events_queue.flush()
    age(WebhookEvent.objects.get())
    app.conf.task_always_eager = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reprocess_webhooks", "--queue")
    assert "Queued 1 events" in capsys.readouterr().out
    assert Message.objects.count() == 1
