import pytest

from campaigns.selectors import campaign_progress, campaigns_run_lost
from campaigns.services import RUN_LOST_AFTER, RUN_NOT_STARTED_AFTER
from campaigns.tests.factories import CampaignFactory, CampaignRecipientFactory
from messaging.models import MessageStatus
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_progress_counts_every_outcome_in_one_query(django_assert_num_queries):
    campaign = CampaignFactory()
    for status in (MessageStatus.DELIVERED, MessageStatus.FAILED):
        CampaignRecipientFactory(campaign=campaign, message=MessageFactory(status=status, bulk=True), outcome="queued")
    waiting = MessageFactory(status=MessageStatus.QUEUED, twilio_message_sid=None, bulk=True)
    CampaignRecipientFactory(campaign=campaign, message=waiting, outcome="queued")
    CampaignRecipientFactory(campaign=campaign, outcome="skipped_opted_out")
    CampaignRecipientFactory(campaign=campaign)
    with django_assert_num_queries(1):
        progress = campaign_progress(campaign=campaign, estimate=False)
    assert progress == {
        "total": 5,
        "pending": 1,
        "skipped": 1,
        "canceled": 0,
        "sent": 1,
        "failed": 1,
        "attention": 0,
        "queued": 1,
        "final": 3,
        "unconfirmed": 1,
        "unsent": 1,
        "percent": 60,
        "outcomes": {
            "pending": 1,
            "queued": 3,
            "skipped_opted_out": 1,
            "skipped_no_phone": 0,
            "skipped_refused": 0,
            "canceled": 0,
        },
        "message_statuses": {"delivered": 1, "failed": 1, "queued": 1},
    }


def test_lost_runs_in_one_query(django_assert_num_queries):
    CampaignFactory(status="running")  # queued a moment ago: its run may still be on its way
    with django_assert_num_queries(1):
        assert campaigns_run_lost(older_than=RUN_LOST_AFTER, not_started_after=RUN_NOT_STARTED_AFTER) == []
