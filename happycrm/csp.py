"""The site's Content Security Policy (settings.CONTENT_SECURITY_POLICY), with what the admin needs on top."""

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.urls import reverse

# Django's admin (and our admin templates) use style attributes; no other page gets inline styles.
ADMIN_UPDATE = {"style-src": ["'unsafe-inline'"]}
# The API's documentation (Swagger UI, ReDoc from our static files) styles itself inline and ReDoc searches in a
# worker it makes from a blob; neither runs an inline script.
API_DOCS_PREFIX = "/api/v1/docs/"  # happycrm.api_urls
API_DOCS_UPDATE = {"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware; pages under the admin's prefix and the API's documentation also allow inline styles.

    A response that already carries a Content-Security-Policy (an attachment's `sandbox`) keeps its own.
    """

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith(reverse("admin:index")):
            parts.update = {**ADMIN_UPDATE, **(parts.update or {})}
        elif not report_only and request.path_info.startswith(API_DOCS_PREFIX):
            parts.update = {**API_DOCS_UPDATE, **(parts.update or {})}
        return parts
