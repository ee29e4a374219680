"""The request id: one per request, on every log line written while it is handled, stored on what the request
leaves for later (a webhook event) so that the worker's lines for it carry the same id.

Taken from the X-Request-ID header only when DJANGO_TRUST_REQUEST_ID_HEADER says a proxy in front sets it (a
client could otherwise write into the logs at will), and only in a safe shape; else generated here. Each answer
carries it back in X-Request-ID."""

import contextvars
import logging
import re
import uuid
from contextlib import contextmanager

from django.conf import settings

HEADER = "X-Request-ID"
MAX_LENGTH = 64
SAFE = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_LENGTH}}}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def request_id_get() -> str:
    """The id of the request (or of the batch of events) being handled here, or ""."""
    return _current.get()


@contextmanager
def request_id_bound(request_id: str):
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


def request_id_for(request) -> str:
    incoming = request.headers.get(HEADER, "") if settings.TRUST_REQUEST_ID_HEADER else ""
    return incoming if SAFE.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE and ENDPOINT_MIDDLEWARE: every line logged while the request is handled carries its id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        with request_id_bound(request.request_id):
            response = self.get_response(request)
        response[HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record (`-` outside a request), for the log formats to show."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get() or "-"
        return True
