"""The events feed (what agents' screens hear of, for integrations to poll) and the live stream's API path."""

from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import READ_CONVERSATIONS, api_permission
from happycrm.rest import serializers as rest
from happycrm.rest.errors import ApiError

from . import views
from .models import Event
from .selectors import EVENTS_PAGE, MAX_EVENT_ID, CursorPruned, cursor_parse, events_after, events_cursor


def cursor_pruned_error(error: CursorPruned) -> ApiError:
    """410: the events after the cursor are gone; `oldest_cursor` is where nothing is missing, `cursor` is now."""
    return ApiError(
        _("The events after this cursor were pruned: reload, and resume from oldest_cursor or from now."),
        code="cursor_pruned",
        status_code=410,
        oldest_cursor=error.oldest_cursor,
        cursor=events_cursor(),
    )


class EventSerializer(rest.Serializer):
    id = serializers.IntegerField(help_text=gettext_lazy("The event's number: the cursor to resume after it."))
    type = serializers.ChoiceField(choices=Event.Type.choices, help_text=gettext_lazy("What happened."))
    created_at = serializers.DateTimeField()
    data = serializers.DictField(
        help_text=gettext_lazy(
            "What screens read about it: `lead_id` always; `message_id`, `status`, `body`, … by type."
        )
    )


class EventsPageSerializer(rest.Serializer):
    events = EventSerializer(many=True, help_text=gettext_lazy("Oldest first; empty without a cursor."))
    cursor = serializers.IntegerField(help_text=gettext_lazy("Send it back as `cursor` for what comes next."))
    more = serializers.BooleanField(help_text=gettext_lazy("More events are waiting: ask again at once."))


class CursorPrunedDetailSerializer(rest.Serializer):
    code = serializers.CharField(help_text="`cursor_pruned`")
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    oldest_cursor = serializers.IntegerField(help_text=gettext_lazy("The oldest cursor with nothing missing after."))
    cursor = serializers.IntegerField(help_text=gettext_lazy("The current cursor: from now."))


class CursorPrunedErrorSerializer(rest.Serializer):
    error = CursorPrunedDetailSerializer()


EVENTS_DESCRIPTION = f"""What agents' screens hear of, for a client to poll (or to catch up with after the live
stream, `GET /api/v1/events/stream`, dropped). Each event has an ascending number, its `id`.

Cursor: without one, the answer has no events and the current cursor: start from there (from now). With
`cursor=N`, the events after N, oldest first, at most {EVENTS_PAGE}; the answer's `cursor` is the last one's id (or N
when none came): send it next time. `more` is true when a full page came: ask again at once. Events are kept for a
few days only (retention): a cursor from before what was pruned gets 410 `cursor_pruned`, never a silent gap; its
`oldest_cursor` is the oldest cursor with nothing missing after it and `cursor` the current one: reload what you
show and resume from either.

Types: `new_message` (a lead wrote: `message_id`, `lead_id`, `lead_name`, `from`, `channel`, `body` (its first 100
characters), `created_at`), `message_sent` (we sent: `message_id`, `lead_id`, `channel`, `created_at`),
`status_update` (a sent message's status changed: `message_id`, `lead_id`, `status`, `error_code`), `read` (a
lead's unread count changed: `lead_id`), `lead_changed` (a lead's details or opt-out: `lead_id`, `lead_name`).
An event meant for some users only (an assignee's notification) reaches only them."""


class EventsView(APIView):
    """The spec's events endpoint (and /api/v1/events), a polling fallback for the live stream."""

    permission_classes = [api_permission(READ_CONVERSATIONS)]

    @extend_schema(
        tags=["events"],
        summary="Events after a cursor",
        description=EVENTS_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "cursor",
                {"type": "integer", "minimum": 0, "maximum": MAX_EVENT_ID},
                description="The last event id you have (0: from the oldest kept). Omit it to start from now.",
            )
        ],
        responses={
            200: EventsPageSerializer,
            410: OpenApiResponse(
                CursorPrunedErrorSerializer,
                description="The events after this cursor were pruned: resume from `oldest_cursor` or `cursor`.",
                examples=[
                    OpenApiExample(
                        "Pruned",
                        value={
                            "error": {
                                "code": "cursor_pruned",
                                "message": "The events after this cursor were pruned: reload, and resume from "
                                "oldest_cursor or from now.",
                                "fields": {},
                                "oldest_cursor": 4100,
                                "cursor": 4213,
                            }
                        },
                    )
                ],
            ),
        },
        examples=[
            OpenApiExample(
                "Two events",
                response_only=True,
                status_codes=["200"],
                value={
                    "events": [
                        {
                            "id": 4212,
                            "type": "new_message",
                            "created_at": "2025-05-02T10:00:00Z",
                            "data": {
                                "message_id": "0b5f7f57-8d7c-4f0e-9a40-3c1f1f6f2a11",
                                "lead_id": "8d5e3a52-2f43-4d6c-bb0e-5b8f0c1d9e77",
                                "lead_name": "Deniz",
                                "from": "+905551234567",
                                "channel": "whatsapp",
                                "body": "Merhaba",
                                "created_at": "2025-05-02T10:00:00Z",
                            },
                        },
                        {
                            "id": 4213,
                            "type": "read",
                            "created_at": "2025-05-02T10:01:00Z",
                            "data": {"lead_id": "8d5e3a52-2f43-4d6c-bb0e-5b8f0c1d9e77"},
                        },
                    ],
                    "cursor": 4213,
                    "more": False,
                },
            )
        ],
    )
    def get(self, request):
        raw = request.query_params.get("cursor")
        if raw is None or raw == "":
            return Response({"events": [], "cursor": events_cursor(), "more": False})
        cursor = cursor_parse(raw)
        if cursor is None:
            message = _("Must be an event id (an integer).")
            raise ApiError(message, code="invalid_cursor", fields={"cursor": [message]})
        try:
            events = events_after(cursor=cursor)
        except CursorPruned as error:
            raise cursor_pruned_error(error) from None
        return Response(
            {
                "events": [
                    {
                        "id": event.pk,
                        "type": event.type,
                        "created_at": event.created_at.isoformat(),
                        "data": event.payload,
                    }
                    for event in events
                    if event.is_for(request.user.pk)  # an assignee's notification reaches the assignee only
                ],
                "cursor": events[-1].pk if events else cursor,
                "more": len(events) == EVENTS_PAGE,
            }
        )

    post = get  # the spec calls it with POST


urlpatterns = [  # under /api/v1/, through happycrm.api_urls
    path("events", EventsView.as_view(http_method_names=["get", "head", "options"]), name="events"),
    # The live stream for token clients (the stream process serves it, as /events/stream: see deploy/nginx.conf).
    path("events/stream", views.stream, name="events-stream"),
]

spec_urlpatterns = [  # the spec's paths under /api/, through happycrm.api_urls
    path("messages/events", EventsView.as_view(), name="events"),
]
