from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import READ_CONVERSATIONS, api_permission

from .selectors import EVENTS_PAGE, CursorPruned, cursor_parse, events_after, events_cursor


def cursor_pruned_response(error: CursorPruned) -> Response:
    return Response(
        {
            "detail": "The events after this cursor were pruned: reload, and resume from oldest_cursor or from now.",
            "oldest_cursor": error.oldest_cursor,
            "cursor": events_cursor(),
        },
        status=410,
    )


class EventsView(APIView):
    """The spec's events endpoint, a polling fallback for the live stream: events after `cursor`.

    Without a cursor it answers with none and the current cursor, so a new screen starts from now. A cursor whose
    following events retention pruned gets 410 with the oldest valid cursor (and the current one): never a gap.
    """

    permission_classes = [api_permission(READ_CONVERSATIONS)]

    def get(self, request):
        raw = request.query_params.get("cursor")
        if raw is None or raw == "":
            return Response({"events": [], "cursor": events_cursor(), "more": False})
        cursor = cursor_parse(raw)
        if cursor is None:
            return Response({"cursor": ["Must be an event id (an integer)."]}, status=400)
        try:
            events = events_after(cursor=cursor)
        except CursorPruned as error:
            return cursor_pruned_response(error)
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


spec_urlpatterns = [  # the spec's paths under /api/, through happycrm.api_urls
    path("messages/events", EventsView.as_view(), name="events"),
]
