"""The site's Content Security Policy (settings.CONTENT_SECURITY_POLICY), with what the admin needs on top."""

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.urls import reverse

# Django's admin (and our admin templates) use style attributes; no other page gets inline styles.
ADMIN_UPDATE = {"style-src": ["'unsafe-inline'"]}


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware; pages under the admin's prefix also allow inline styles.

    A response that already carries a Content-Security-Policy (an attachment's `sandbox`) keeps its own.
    """

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith(reverse("admin:index")):
            parts.update = {**ADMIN_UPDATE, **(parts.update or {})}
        return parts
