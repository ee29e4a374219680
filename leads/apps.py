from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"
    verbose_name = _("Leads")

    def ready(self):
        # The project's own checks (happycrm is not an app) are registered by its first app.
        from django.core import checks

        from happycrm.checks import TAG, static_manifest_check

        checks.register(static_manifest_check, TAG)
