import pytest
from django.utils import timezone

from leads.tests.factories import LeadFactory, StageFactory
from messaging.backends import locmem

# The broker switch, the spy on hand-offs and the throwaway Redis of messaging's broker-outage tests.
from messaging.tests.test_broker_outage import broker, own_redis, published  # noqa: F401


@pytest.fixture
def outbox():
    """What the locmem backend "sent", empty at the start of the test (as in messaging's tests)."""
    locmem.outbox.clear()
    return locmem.outbox


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run what the code under test queued on commit (Celery is eager in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def stage_with_leads():
    stage = StageFactory(name="Teklif")
    leads = LeadFactory.create_batch(3, stage=stage)
    LeadFactory(stage=stage, opted_out_at=timezone.now(), name="Çıkan")
    LeadFactory(stage=stage, phone=None, name="Telefonsuz")
    LeadFactory()  # another stage
    return stage, leads


@pytest.fixture
def run_sweep(django_capture_on_commit_callbacks):
    """Run messaging's periodic sweep and what it queues (Celery is eager in tests), as in messaging's tests."""
    from messaging.services.webhooks import webhook_events_sweep

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return webhook_events_sweep()

    return run


@pytest.fixture
def resume_lost(django_capture_on_commit_callbacks):
    """Run the periodic resume of lost campaign runs and what it queues; how many it ran again."""
    from campaigns.tasks import resume_lost_campaigns

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return resume_lost_campaigns()

    return run
