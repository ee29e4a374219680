"""The API's pagination: numbered pages for lists that are browsed and counted (leads, stages, campaigns), and
cursors for long threads read newest first (a lead's messages), where a page number would shift as rows arrive."""

import uuid
from collections.abc import Callable

from django.utils.translation import gettext as _
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .errors import ApiError


def query_number(request, name: str, highest: int | None = None) -> int | None:
    """A query parameter as a whole number from 1 (to `highest`), every value of a repeated one; None if absent.
    Anything else is 400 on that field (DRF's paginators would quietly use their default)."""
    values = request.query_params.getlist(name)
    for raw in values:
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 100 else 0
        if not 1 <= number <= (highest or number):
            if highest:
                message = _("Must be a whole number from 1 to %(max)d.") % {"max": highest}
            else:
                message = _("Must be a whole number from 1.")
            raise ApiError(message, code="validation_error", fields={name: [message]})
    return int(values[-1]) if values else None


class PagePagination(PageNumberPagination):
    """`?page=N&page_size=M` (1 to max_page_size); the answer gives the count and the next and previous pages. A
    page size that is not such a number is refused (DRF would quietly use the default instead)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        size = query_number(request, self.page_size_query_param, self.max_page_size)
        return self.page_size if size is None else size

    def paginate_queryset(self, queryset, request, view=None):
        query_number(request, self.page_query_param)  # a page past the last is 404 (DRF's), anything else 400
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1)
        return parameters


class KeysetPagination(BasePagination):
    """`?before=<id>` / `?after=<id>` and `?limit=` over rows read newest first by (time, id): each cursor names a
    row, so a page stays put while new rows arrive, and any depth costs one index range.

    The view gives two callables: `resolve(id)`, the row a cursor names within what is listed (None: refused), and
    `fetch(before=, after=, size=)`, which answers (rows oldest first, whether more lie beyond them the way they
    were read), as messaging.selectors.thread_page does. The answer is `results` newest first, `next` (older
    rows, `before` the oldest shown, when there are some) and `previous` (`after` the newest shown: newer rows,
    now or later)."""

    default_limit = 50
    max_limit = 200
    cursor_params = ("before", "after")

    def _refuse(self, field: str, message: str):
        raise ApiError(
            message,
            code="invalid_cursor" if field in self.cursor_params else "validation_error",
            fields={field: [message]},
        )

    def _limit(self, request) -> int:
        limit = query_number(request, "limit", self.max_limit)
        return self.default_limit if limit is None else limit

    def _cursor(self, request, resolve: Callable) -> tuple[str | None, object]:
        given = [name for name in self.cursor_params if name in request.query_params]
        if len(given) > 1:
            self._refuse(given[1], _("Give either before or after, not both."))
        if not given:
            return None, None
        name = given[0]
        try:
            key = uuid.UUID(request.query_params[name])
        except ValueError:
            key = None
        row = resolve(key) if key is not None else None
        if row is None:
            self._refuse(name, _("Must be the id of a row of this list."))
        return name, row

    def paginate(self, request, *, resolve: Callable, fetch: Callable) -> list:
        """The page's rows, newest first; raises ApiError (400) for a bad limit or cursor."""
        limit = self._limit(request)
        direction, row = self._cursor(request, resolve)
        before, after = (row, None) if direction == "before" else (None, row)
        rows, more = fetch(before=before, after=after, size=limit)
        self.request = request
        self.results = list(reversed(rows))
        older = more if direction != "after" else True  # reading after a row: that row at least is older
        self.oldest = self.results[-1].pk if self.results and older else None
        self.newest = self.results[0].pk if self.results else (row.pk if direction == "after" else None)
        return self.results

    def _link(self, name: str, value) -> str | None:
        if value is None:
            return None
        url = self.request.build_absolute_uri()
        for param in self.cursor_params:
            url = remove_query_param(url, param)
        return replace_query_param(url, name, str(value))

    def get_paginated_response(self, data) -> Response:
        return Response(
            {"results": data, "next": self._link("before", self.oldest), "previous": self._link("after", self.newest)}
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "format": "uri", "nullable": True}
        example = "https://crm.example.com/api/v1/leads/8d5e3a52-2f43-4d6c-bb0e-5b8f0c1d9e77/messages?{}="
        example += "0b5f7f57-8d7c-4f0e-9a40-3c1f1f6f2a11"
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {
                    **link,
                    "description": "Older rows (`before` the oldest shown); null when there are none.",
                    "example": example.format("before"),
                },
                "previous": {
                    **link,
                    "description": "Newer rows (`after` the newest shown): follow it to catch up, now or later.",
                    "example": example.format("after"),
                },
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        def cursor(name: str, description: str) -> dict:
            schema = {"type": "string", "format": "uuid"}
            return {"name": name, "required": False, "in": "query", "description": description, "schema": schema}

        return [
            cursor("before", "The id of a listed row: the rows older than it, newest first."),
            cursor("after", "The id of a listed row: the rows just newer than it, newest first (not with before)."),
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.default_limit}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": self.default_limit},
            },
        ]
