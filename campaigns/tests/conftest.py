import pytest
from django.utils import timezone

from leads.tests.factories import LeadFactory, StageFactory


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
def resume_lost(django_capture_on_commit_callbacks):
    """Run the periodic resume of lost campaign runs and what it queues; how many it ran again."""
    from campaigns.tasks import resume_lost_campaigns

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return resume_lost_campaigns()

    return run
