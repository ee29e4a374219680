"""One error format for every 4xx of the API: `{"error": {"code", "message", "fields"}}`.

`code` is a stable machine word (`validation_error`, `not_authenticated`, `permission_denied`, `not_found`, …, or
the refusal's own code, such as a send's `window_closed`); `message` a sentence in the request's language; `fields`
the messages per input field (empty when the error is not about one). DRF's exceptions, Django's 404 and
PermissionDenied and our own `ApiError` all end here; an unknown URL under /api/ answers the same way (handler404).
"""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.encoding import force_str
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.defaults import page_not_found
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

API_PREFIX = "/api/"

# What a code-less DRF exception is called, and the sentence that stands for a field-by-field error.
VALIDATION_MESSAGE = gettext_lazy("The request has errors: see the fields.")


class ApiError(exceptions.APIException):
    """A refusal a view raises with its own code (`SendRefused`'s, `duplicate`, …), message and optional fields."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message, *, code: str, status_code: int | None = None, fields: dict | None = None, **extra):
        super().__init__(detail=message, code=code)
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra  # more members of "error" (the existing lead's id of a duplicate)


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _flatten(value)]
    return [force_str(detail)]


def _fields(detail: dict) -> dict:
    """Field → its messages; a nested serializer's fields are named `outer.inner` (a list's items `outer.0`)."""
    fields = {}
    for name, value in detail.items():
        if isinstance(value, dict):
            fields.update({f"{name}.{inner}": messages for inner, messages in _fields(value).items()})
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for index, item in enumerate(value):
                fields.update({f"{name}.{index}.{inner}": messages for inner, messages in _fields(item).items()})
        else:
            fields[name] = _flatten(value)
    return fields


def validation_refusal(exc: DjangoValidationError) -> exceptions.APIException:
    """A service's refusal (a Django ValidationError, per field) as the API's 400: with code `duplicate` and the
    service's words as the message when it says a name is taken (an error of code `duplicate`), else
    `validation_error` field by field."""
    detail = serializers.as_serializer_error(exc)
    for errors in getattr(exc, "error_dict", {}).values():
        for error in errors:
            if error.code == "duplicate":
                return ApiError(" ".join(error.messages), code="duplicate", fields=_fields(detail))
    return exceptions.ValidationError(detail)


def error_body(*, code: str, message, fields: dict | None = None, **extra) -> dict:
    return {"error": {"code": code, "message": force_str(message), "fields": fields or {}, **extra}}


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: the error format, the headers DRF adds (WWW-Authenticate, Retry-After) kept.

    A body Django refuses to read (over DATA_UPLOAD_MAX_MEMORY_SIZE, more than DATA_UPLOAD_MAX_NUMBER_FIELDS
    fields or _FILES files: a SuspiciousOperation) is a 413 or 400 here too, not Django's HTML page."""
    if isinstance(exc, RequestDataTooBig):
        exc = ApiError(_("The request body is too large."), code="request_too_large", status_code=413)
    elif isinstance(exc, SuspiciousOperation):
        exc = ApiError(_("The request cannot be read: %(reason)s") % {"reason": exc}, code="bad_request")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a server error: Django's 500 (or 503 when the database is down) handler answers
    headers = {}
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    if wait := getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, round(wait)))
    if isinstance(exc, ApiError):
        body = error_body(code=_code(exc), message=exc.detail, fields=exc.fields, **exc.extra)
    elif isinstance(exc.detail, dict):
        fields = _fields(exc.detail)
        general = fields.pop("non_field_errors", None) or fields.pop("detail", None)
        body = error_body(
            code="validation_error" if isinstance(exc, exceptions.ValidationError) else _code(exc),
            message=" ".join(general) if general else VALIDATION_MESSAGE,
            fields=fields,
        )
    elif isinstance(exc.detail, list):
        body = error_body(code="validation_error", message=" ".join(_flatten(exc.detail)))
    else:
        body = error_body(code=_code(exc), message=exc.detail)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


def not_found(request, exception=None):
    """handler404: under /api/ the error format, elsewhere Django's page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body(code="not_found", message=_("Not found.")), status=404)
    return page_not_found(request, exception)
