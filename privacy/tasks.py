"""Thin Celery wrappers: they take ids and call services, and are safe to run twice."""

from celery import shared_task
from django.contrib.auth import get_user_model

from happycrm.audit import command_user

from .models import ErasureJob
from .services import ERASE_LEADS_TASK, Requester, erasure_job_run, pending_file_deletions_retry


@shared_task(name=ERASE_LEADS_TASK)
def erase_leads(job_id: int) -> None:
    job = ErasureJob.objects.get(pk=job_id)
    user = get_user_model().objects.filter(pk=job.created_by_id).first() or command_user()
    erasure_job_run(job_id=job_id, requester=Requester.admin(user))


@shared_task(name="privacy.retry_pending_file_deletions")
def retry_pending_file_deletions() -> int:
    return pending_file_deletions_retry()
