from accounts.permissions import READ_CONVERSATIONS, READ_DIAGNOSTICS, has_perms
from happycrm.admin_site import HappyCRMAdminSite

from .selectors import dashboard_figures, dashboard_reports

VIEW_DASHBOARD = READ_CONVERSATIONS + READ_DIAGNOSTICS  # it shows conversations' figures and the webhook's health
# The team's reports name agents and how quickly each answers: for those who may read the conversations' records.
VIEW_REPORTS = (*VIEW_DASHBOARD, "conversations.view_conversation")


class DashboardAdminSite(HappyCRMAdminSite):
    """The project's admin site with the dashboard as its index, above the list of what it manages. Staff without
    the permissions to read conversations and diagnostics get the list alone; the team's reports need the
    conversations' own permission besides."""

    index_template = "admin/dashboard.html"

    def index(self, request, extra_context=None):
        figures = dashboard_figures() if has_perms(request.user, VIEW_DASHBOARD) else None
        if figures is not None:
            figures["reports"] = dashboard_reports() if has_perms(request.user, VIEW_REPORTS) else None
        return super().index(request, {"figures": figures, **(extra_context or {})})
