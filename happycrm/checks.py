"""System checks for what the settings alone cannot refuse: a deployment missing a step."""

import os

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import Error
from django.core.files.storage import storages

TAG = "happycrm"


def collectstatic_command() -> str:
    """Collect under the settings this process runs with, so the manifest matches them."""
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "happycrm.settings.production")
    return f"DJANGO_SETTINGS_MODULE={module} python manage.py collectstatic --no-input"


def static_manifest_check(app_configs=None, **kwargs):
    """A manifest storage without its manifest serves no CSS or JavaScript: every hashed URL is unknown.

    That happens when `collectstatic` ran under other settings (a plain storage writes no manifest). Not tagged
    `staticfiles`, so `collectstatic` itself, which runs those checks, is never held up by it.
    """
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return []
    if storage.manifest_storage.exists(storage.manifest_name):
        return []
    return [
        Error(
            f"Static files were not collected for these settings ({storage.manifest_name} is missing in "
            f"STATIC_ROOT): run {collectstatic_command()}",
            id="happycrm.E001",
        )
    ]
