from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    """The operator console's front page (the admin index): figures each app's selectors give, drawn as SVG on the
    server. It reads no table itself; no other app imports it."""

    name = "dashboard"
    verbose_name = _("Dashboard")
