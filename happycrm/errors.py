"""Site-wide error answers: a database that cannot be reached is a 503 that says so, on every page and endpoint."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.defaults import server_error as django_server_error

from .rest.errors import error_body

RETRY_AFTER_SECONDS = 30
DATABASE_DOWN = (OperationalError, InterfaceError)  # connection refused or lost, pool timeout; not a bad query


def server_error(request, template_name="500.html"):
    """Django's 500 view, except when the exception being handled is the database being unreachable.

    Django turns an exception into this view's answer wherever it was raised (a view, the session or the
    login in middleware), so this one place covers the whole site. The answer touches neither the database
    nor the session: no template context, no user."""
    if not isinstance(sys.exception(), DATABASE_DOWN):
        return django_server_error(request, template_name)
    message = _("The database cannot be reached at the moment. Please try again in a minute.")
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body(code="database_unavailable", message=message), status=503)
    else:
        title = _("Temporarily unavailable")
        response = HttpResponse(
            f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
