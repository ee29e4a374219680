from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import READ_CONVERSATIONS, api_permission

from .selectors import EVENTS_PAGE, cursor_parse, events_after, events_cursor


class EventsView(APIView):
    """The spec's events endpoint, a polling fallback for the live stream: events after `cursor`.

    Without a cursor it answers with none and the current cursor, so a new screen starts from now.
    """

    permission_classes = [api_permission(READ_CONVERSATIONS)]

    def get(self, request):
        raw = request.query_params.get("cursor")
        if raw is None or raw == "":
            return Response({"events": [], "cursor": events_cursor(), "more": False})
        cursor = cursor_parse(raw)
        if cursor is None:
            return Response({"cursor": ["Must be an event id (an integer)."]}, status=400)
        events = events_after(cursor=cursor)
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


urlpatterns = [  # under /api/, through happycrm.api_urls
    path("messages/events", EventsView.as_view(), name="events"),
]
