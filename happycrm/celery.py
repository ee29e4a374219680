import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happycrm.settings.local")

app = Celery("happycrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def refuse_to_start_on_failed_checks(**kwargs):
    """A worker writes messages too: it starts only when the start-up checks pass (happycrm.checks)."""
    from happycrm.startup import startup_checks_run

    startup_checks_run()


@signals.setup_logging.connect
def use_the_sites_logging(**kwargs):
    """Workers and beat log as the web processes do (settings.LOGGING: its format, DJANGO_LOG_FORMAT, the request
    id); left alone, Celery would replace the root logger's handlers with its own."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
