import logging

from celery import shared_task
from django.conf import settings

from .services import TemplateSyncError, templates_sync

logger = logging.getLogger(__name__)


@shared_task(name="templates_app.sync_templates")
def sync_templates() -> dict | None:
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        return None  # no Twilio account (the simulator): nothing to sync
    try:
        report = templates_sync()
    except TemplateSyncError as exc:
        logger.warning("Template sync failed: %s", exc)
        return None
    logger.info("Template sync: %s", report.summary())
    return report.as_dict()
