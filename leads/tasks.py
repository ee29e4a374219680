"""Thin Celery wrappers: they take ids and call services, and are safe to run twice."""

from celery import shared_task

from .imports.services import lead_import_check, lead_import_run, lead_imports_requeue


@shared_task(name="leads.check_import")
def check_import(import_id: str) -> None:
    lead_import_check(import_id=import_id)


@shared_task(name="leads.run_import")
def run_import(import_id: str) -> None:
    lead_import_run(import_id=import_id)


@shared_task(name="leads.requeue_imports")
def requeue_imports() -> int:
    return lead_imports_requeue()
