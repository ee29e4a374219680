"""The OpenAPI schema's shared parts (drf-spectacular): the error format on every operation it can happen to.

Views declare what they answer when all goes well; this hook adds the errors the shared mechanisms give, from what
the operation is: 400 when it takes input (and 413 for a body), 401/403 for the authentication and permissions
every operation needs, 404 when its path names a row or it is paged, 409/422 when it takes an Idempotency-Key, 429
for throttling. Each refers to one `Error` component with an example.
"""

from django.utils.translation import gettext_lazy as _

ERROR_COMPONENT = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "A stable machine word, e.g. `validation_error`."},
                "message": {"type": "string", "description": "A sentence in the request's language."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Messages per input field; empty when the error is not about one.",
                },
            },
            "required": ["code", "message", "fields"],
            "additionalProperties": True,
        }
    },
    "required": ["error"],
    "example": {
        "error": {
            "code": "validation_error",
            "message": "The request has errors: see the fields.",
            "fields": {"phone": ["Enter a valid phone number."]},
        }
    },
}

ERRORS = {
    "400": _("The input is refused; `fields` says where."),
    "401": _("No valid credentials: send `Authorization: Bearer <token>`."),
    "403": _("The user lacks the permission for this action."),
    "404": _("No such row."),
    "409": _("A request with the same Idempotency-Key is still running."),
    "413": _("The request body is too large."),
    "422": _("The Idempotency-Key was used with a different request."),
    "429": _("Too many requests: retry after the `Retry-After` seconds."),
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
WWW_AUTHENTICATE = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}}
WRITE_METHODS = {"post", "put", "patch"}
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _error(code: str) -> dict:
    response = {
        "description": str(ERRORS[code]),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code == "429":
        response["headers"] = RETRY_AFTER
    elif code == "401":
        response["headers"] = WWW_AUTHENTICATE
    return response


def _errors_for(method: str, operation: dict) -> list[str]:
    parameters = operation.get("parameters", [])
    codes = ["401", "403", "429"]
    if method in WRITE_METHODS:
        codes += ["400", "413"]
    elif any(parameter["in"] == "query" for parameter in parameters):
        codes.append("400")
    if any(parameter["in"] == "path" for parameter in parameters) or any(
        parameter["in"] == "query" and parameter["name"] == "page" for parameter in parameters
    ):
        codes.append("404")  # no such row, or a page past the last
    if any(parameter["in"] == "header" and parameter["name"] == IDEMPOTENCY_HEADER for parameter in parameters):
        codes += ["409", "422"]
    if operation.get("security") == [{}]:  # an operation anyone may call has no authentication errors
        codes = [code for code in codes if code not in {"401", "403"}]
    return codes


def error_responses_hook(result, generator, request, public):
    """drf-spectacular's POSTPROCESSING_HOOKS: the `Error` component and each operation's error responses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            for code in _errors_for(method, operation):
                responses.setdefault(code, _error(code))
    return result


EXAMPLE_ORIGIN = "https://crm.example.com"
PAGE_KEYS = {"count", "next", "previous", "results"}


def page_examples_hook(result, generator, request, public):
    """drf-spectacular's POSTPROCESSING_HOOKS: a numbered page's example links to its own list (the paginator's
    schema knows no path, and drf-spectacular fills in DRF's `api.example.org/accounts/`): the second of three."""
    for path, methods in result.get("paths", {}).items():
        responses = methods.get("get", {}).get("responses", {})
        examples = responses.get("200", {}).get("content", {}).get("application/json", {}).get("examples", {})
        for example in examples.values():
            value = example.get("value")
            if isinstance(value, dict) and value.keys() == PAGE_KEYS:
                url = EXAMPLE_ORIGIN + path
                value.update(count=120, next=f"{url}?page=3", previous=url)
    return result


def v1_only(endpoints):
    """drf-spectacular's PREPROCESSING_HOOKS: the schema describes /api/v1/; the spec's older paths, which serve
    the same views, are left out of it."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
