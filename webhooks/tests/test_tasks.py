"""The webhooks' tasks go to a queue of their own, which only the `hooks` worker consumes: a slow receiver holds
that worker, never the one sending messages or processing inbound webhooks."""

import shutil
from pathlib import Path

import pytest
import redis
from django.conf import settings

from happycrm.celery import app
from leads.services import lead_save
from leads.tests.factories import LeadFactory
from webhooks.models import Delivery
from webhooks.services import deliveries_dispatch

from .factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

TASKS = ["webhooks.dispatch", "webhooks.deliver", "webhooks.retry_due"]


def queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_every_webhooks_task_goes_to_the_webhooks_queue_and_the_others_do_not():
    app.loader.import_default_modules()
    assert settings.WEBHOOK_QUEUE == "webhooks"
    for name in TASKS:
        assert name in app.tasks
        assert queue_of(name) == "webhooks"
    for name in ("messaging.send_message", "messaging.send_messages", "messaging.process_webhook_events"):
        assert queue_of(name) == "celery"
    # Sends wait behind the dispatcher and the sweep on their queue, never the other way round.
    assert app.tasks["webhooks.deliver"].priority == 9
    assert app.tasks["webhooks.dispatch"].priority is None


def test_beat_dispatches_every_two_seconds_and_sweeps_retries():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["webhooks.dispatch"] == 2.0
    assert schedule["webhooks.retry_due"] == 30.0


def test_only_the_hooks_process_consumes_the_webhooks_queue():
    procfile = dict(
        line.split(":", 1) for line in (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines() if line.strip()
    )
    queues = {
        name: command.split("--queues ")[1].split()[0] for name, command in procfile.items() if "--queues" in command
    }
    assert queues == {"worker": "celery", "bulk": "campaigns", "hooks": "webhooks"}
    assert "--concurrency 4" in procfile["hooks"]


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
def test_sends_are_published_to_the_webhooks_queue(own_redis, django_capture_on_commit_callbacks):
    SubscriptionFactory(events=["lead.updated"])
    lead_save(lead=LeadFactory())
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_dispatch() == 1
    client = redis.Redis.from_url(own_redis.url)
    # The Redis transport keeps a queue's priorities in lists of their own: `webhooks` and its lowest, for sends.
    lengths = {key.decode(): client.llen(key) for key in client.keys("*") if client.type(key) == b"list"}
    assert lengths == {"webhooks\x06\x169": 1}
    assert Delivery.objects.get().status == Delivery.Status.PENDING  # waiting for the hooks worker


def test_a_delivery_and_a_dispatch_log_no_line_of_their_own():
    """Hundreds a second under load: each delivery is a row in the admin, not two lines in the worker's log."""
    import logging

    from happycrm.logfilters import QuietTaskLines

    configured = next(f for f in logging.getLogger("celery.app.trace").filters if isinstance(f, QuietTaskLines))
    assert {"webhooks.deliver", "webhooks.dispatch"} <= configured.tasks
    assert "webhooks.retry_due" not in configured.tasks
