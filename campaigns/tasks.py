"""Thin Celery wrappers: they take ids and call services, and are safe to run twice."""

from celery import shared_task

from .services import campaign_run, campaigns_finish_done, campaigns_resume_lost, campaigns_start_due


@shared_task(name="campaigns.run_campaign")
def run_campaign(campaign_id: str) -> None:
    campaign_run(campaign_id=campaign_id)


@shared_task(name="campaigns.start_due_campaigns")
def start_due_campaigns() -> int:
    return campaigns_start_due()


@shared_task(name="campaigns.resume_lost_campaigns")
def resume_lost_campaigns() -> int:
    return campaigns_resume_lost()


@shared_task(name="campaigns.finish_campaigns")
def finish_campaigns() -> int:
    return campaigns_finish_done()
