import logging

from celery import shared_task

from .services import TemplateSyncError, templates_backend, templates_sync

logger = logging.getLogger(__name__)


@shared_task(name="templates_app.sync_templates")
def sync_templates() -> dict | None:
    if not templates_backend().has_template_catalogue:
        return None  # no provider account (the simulator): nothing to sync
    try:
        report = templates_sync()
    except TemplateSyncError as exc:
        logger.warning("Template sync failed: %s", exc)
        return None
    logger.info("Template sync: %s", report.summary())
    return report.as_dict()
