import datetime

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import IdempotentRequest
from messaging.models import ProviderLog, WebhookEvent
from messaging.services import provider_log
from messaging.services.events import event_new_message
from messaging.tests.factories import InboundMessageFactory, WebhookEventFactory
from notifications.models import Event
from notifications.selectors import events_oldest_cursor
from retention import services
from retention.models import PruneRun
from retention.selectors import retention_summary
from retention.services import retention_prune
from retention.tasks import prune

pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - datetime.timedelta(**kwargs)


def log(age):
    return ProviderLog.objects.create(
        provider="twilio", kind="send", method="POST", url="https://api.example.com/", duration_ms=1, created_at=age
    )


@pytest.fixture
def rows(settings):
    settings.RETENTION_WEBHOOK_EVENTS_DAYS = 30
    settings.RETENTION_NOTIFICATION_EVENTS_DAYS = 7
    settings.RETENTION_PROVIDER_LOGS_DAYS = 14
    old_processed = WebhookEventFactory(received_at=ago(days=31), processed_at=ago(days=31), outcome="stored")
    old_unprocessed = WebhookEventFactory(received_at=ago(days=90))  # never pruned: still to be processed
    recent_processed = WebhookEventFactory(received_at=ago(days=29), processed_at=ago(days=29), outcome="stored")
    message = InboundMessageFactory()
    old_event, recent_event = event_new_message(message=message), event_new_message(message=message)
    Event.objects.filter(pk=old_event.pk).update(created_at=ago(days=8))
    old_log, recent_log = log(ago(days=15)), log(ago(days=13))
    user = User.objects.create_user(username="integration")
    old_answer, recent_answer = (
        IdempotentRequest.objects.create(user=user, key=key, fingerprint="f", status_code=201, created_at=when)
        for key, when in (
            ("old", ago(days=1) - datetime.timedelta(minutes=1)),
            ("recent", ago(days=1) + datetime.timedelta(minutes=1)),
        )
    )
    return {
        "gone": [old_processed, old_event, old_log, old_answer],
        "kept": [old_unprocessed, recent_processed, recent_event, recent_log, recent_answer],
    }


def test_one_run_prunes_each_kind_by_its_age_and_records_it(rows):
    run = retention_prune(batch_size=1)
    assert {key: result["deleted"] for key, result in run.results.items()} == {
        "webhook_events": 1,
        "notification_events": 1,
        "provider_logs": 1,
        "idempotent_requests": 1,
        "webhook_deliveries": 0,
    }
    assert run.results["webhook_events"]["days"] == 30
    for row in rows["gone"]:
        assert not type(row).objects.filter(pk=row.pk).exists()
    for row in rows["kept"]:
        assert type(row).objects.filter(pk=row.pk).exists()
    assert PruneRun.objects.get() == run and run.deleted == 4
    assert events_oldest_cursor() == rows["gone"][1].pk
    summary = retention_summary()
    assert summary["latest"] == run
    assert {kind["key"]: (kind["latest"], kind["total"]) for kind in summary["kinds"]}["webhook_events"] == (1, 1)


def test_the_command_dry_run_counts_and_deletes_nothing(rows, capsys):
    call_command("prune", "--dry-run")
    out = capsys.readouterr().out
    assert "Processed webhook events older than 30 days: 1 would be deleted" in out
    assert "Provider exchanges older than 14 days: 1 would be deleted" in out
    assert PruneRun.objects.count() == 0
    for row in rows["gone"]:
        assert type(row).objects.filter(pk=row.pk).exists()
    call_command("prune")
    assert "Notification events older than 7 days: 1 deleted" in capsys.readouterr().out
    assert PruneRun.objects.count() == 1
    with pytest.raises(CommandError, match="at least 1"):
        call_command("prune", "--batch-size", "0")


def test_a_kind_that_fails_is_recorded_the_others_still_run(rows, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    kinds = tuple(
        services.Kind(k.key, k.label, k.setting, broken) if k.key == "provider_logs" else k for k in services.KINDS
    )
    monkeypatch.setattr(services, "KINDS", kinds)
    with pytest.raises(CommandError, match="could not be pruned"):
        call_command("prune")
    run = PruneRun.objects.get()
    assert run.failed and run.results["provider_logs"]["error"] == "RuntimeError: disk on fire"
    assert run.results["webhook_events"]["deleted"] == 1
    with pytest.raises(RuntimeError, match="provider_logs"):
        prune()


def test_the_periodic_task_is_the_only_prune_in_the_schedule():
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "retention.prune" in tasks
    assert not {"notifications.prune_events", "messaging.prune_provider_logs"} & tasks


def test_the_task_runs_the_same_service(rows):
    assert prune()["provider_logs"]["deleted"] == 1


@pytest.mark.django_db(transaction=True)
def test_each_batch_commits_on_its_own(monkeypatch):
    """A failure in a later batch leaves the earlier batches deleted: no transaction spans the run."""
    assert not connection.in_atomic_block
    logs = [log(ago(days=20, minutes=10 - n)) for n in range(4)]
    real_delete = ProviderLog.objects.none().delete.__func__
    calls = []

    def delete(queryset):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("lost the connection")
        return real_delete(queryset)

    monkeypatch.setattr(type(ProviderLog.objects.none()), "delete", delete)
    with pytest.raises(RuntimeError):
        provider_log.provider_logs_prune(older_than=datetime.timedelta(days=14), batch_size=2)
    assert ProviderLog.objects.count() == 2  # the first batch stayed deleted
    monkeypatch.undo()
    assert provider_log.provider_logs_prune(older_than=datetime.timedelta(days=14), batch_size=2) == 2
    assert not ProviderLog.objects.filter(pk__in=[row.pk for row in logs]).exists()


def test_old_runs_are_kept_a_year():
    PruneRun.objects.create(results={}, started_at=ago(days=400))
    retention_prune()
    assert PruneRun.objects.count() == 1


def test_unprocessed_events_are_never_pruned_however_old(settings):
    settings.RETENTION_WEBHOOK_EVENTS_DAYS = 1
    stuck = WebhookEventFactory(received_at=ago(days=365), attempts=WebhookEvent.MAX_ATTEMPTS)
    assert retention_prune().results["webhook_events"]["deleted"] == 0
    assert WebhookEvent.objects.filter(pk=stuck.pk).exists()
