import json
import time

from django.contrib.auth.decorators import login_required, permission_required
from django.db import close_old_connections, connection
from django.http import StreamingHttpResponse
from django.views.decorators.http import require_GET

from accounts.permissions import READ_CONVERSATIONS

from .broadcast import Listener
from .selectors import cursor_parse, events_after, events_cursor

STREAM_SECONDS = 300  # then the browser reconnects (EventSource does) and resumes from its Last-Event-ID
KEEPALIVE_SECONDS = 15


def _sse(event) -> str:
    data = json.dumps({"type": event.type, **event.payload}, ensure_ascii=False)
    return f"id: {event.pk}\nevent: {event.type}\ndata: {data}\n\n"


def event_stream(cursor: int, seconds: float = STREAM_SECONDS):
    listener = Listener()  # subscribed before the first read: nothing announced in between is missed
    deadline = time.monotonic() + seconds
    try:
        yield f"retry: 2000\nid: {cursor}\n\n"
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            events = events_after(cursor=cursor)
            connection.close()  # back to the pool while waiting: an open page must not hold a connection
            for event in events:
                yield _sse(event)
            if events:
                cursor = events[-1].pk
                quiet_since = time.monotonic()
                continue
            listener.wait(timeout=min(listener.poll_seconds, max(deadline - time.monotonic(), 0)))
            if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
    finally:
        listener.close()
        close_old_connections()


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_GET
def stream(request):
    """Server-Sent Events: every event after the client's Last-Event-ID (or `?cursor`, or from now)."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("cursor") or ""
    cursor = cursor_parse(raw)
    if cursor is None:
        cursor = events_cursor()
    response = StreamingHttpResponse(event_stream(cursor), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
