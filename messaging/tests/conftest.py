import pytest

from messaging.backends import locmem


@pytest.fixture
def outbox():
    """What the locmem backend "sent", empty at the start of the test."""
    locmem.outbox.clear()
    return locmem.outbox


@pytest.fixture
def run_sweep(django_capture_on_commit_callbacks):
    """Run the periodic sweep and what it queues (Celery is eager in tests)."""
    from messaging.services.webhooks import webhook_events_sweep

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return webhook_events_sweep()

    return run
