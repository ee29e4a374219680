import asyncio
import random
import time

from asgiref.sync import SyncToAsync, sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from rest_framework import exceptions

from accounts.authentication import ApiTokenAuthentication
from accounts.permissions import READ_CONVERSATIONS, has_perms
from happycrm.rest.errors import API_PREFIX, error_body

from .hub import connection_release, hub_ready, sse
from .selectors import EVENTS_PAGE, CursorPruned, cursor_parse, events_after, events_cursor, events_oldest_cursor

STREAM_SECONDS = 300  # then the browser reconnects (EventSource does) and resumes from its Last-Event-ID
KEEPALIVE_SECONDS = 15


def _catch_up_page(cursor: int, user_id) -> tuple[list, int, int]:
    """One page of what a (re)connecting screen missed (those for it), where the next page starts, how many read."""
    events = events_after(cursor=cursor)
    return [event for event in events if event.is_for(user_id)], (events[-1].pk if events else cursor), len(events)


def _request_thread_release() -> None:
    """Django runs a request's sync parts (the session, the permission check, the catch-up read) in a thread of its
    own that lives as long as the request: for a stream, as long as the page is open, idle. Let it go now; a sync
    call later in this request (its end) gets a fresh one, which Django ends with the request."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    executor = SyncToAsync.context_to_thread_executor.pop(context, None) if context is not None else None
    if executor is not None:
        executor.shutdown(wait=False)


async def event_stream(*, cursor: int, user_id, seconds: float = STREAM_SECONDS):
    """What one open page receives: the events after `cursor`, then whatever the process's hub hands it.

    It waits on an in-memory queue only: no thread and no database connection while the page is open.
    """
    hub = await hub_ready()
    stream = hub.add(user_id)  # before the catch-up read: nothing committed in between is missed
    try:
        yield f"retry: 2000\nid: {cursor}\n\n"
        seen = set()
        try:
            while True:
                try:
                    events, after, read = await sync_to_async(_catch_up_page)(cursor, user_id)
                except CursorPruned:
                    return  # pruned since the view checked: the browser reconnects, and is told so (410)
                for event in events:
                    seen.add(event.pk)
                    yield f"id: {event.pk}\n" + sse(event_type=event.type, data={"type": event.type, **event.payload})
                cursor = max(cursor, after)
                if read < EVENTS_PAGE:
                    break
        finally:
            await sync_to_async(connection_release)()  # the request's own connection (session, permissions) too
            _request_thread_release()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = await asyncio.wait_for(stream.queue.get(), timeout=min(KEEPALIVE_SECONDS, left))
            except TimeoutError:
                if deadline - time.monotonic() > 0:
                    yield ": keepalive\n\n"
                continue
            batches = [item]
            while item is not None and not stream.queue.empty():  # whatever else is waiting: one write
                item = stream.queue.get_nowait()
                batches.append(item)
            frames = []
            for batch in batches:
                for pk, body in batch or ():
                    if pk is None:  # a transient signal (presence): no id, so it never becomes a resume point
                        frames.append(body)
                    elif pk not in seen:
                        # an event that committed after a newer one must not move the resume point back
                        cursor = max(cursor, pk)
                        frames.append(f"id: {cursor}\n{body}")
            if frames:
                yield "".join(frames)
            if item is None:  # closed by the hub (shutdown, or this page fell too far behind)
                break
    finally:
        hub.remove(stream)


def _bearer_sent(request) -> bool:
    return request.headers.get("Authorization", "").split(" ", 1)[0].lower() == "bearer"


def _token_user(request):
    """The user of the request's Bearer token, through the API's own authentication (knox's check; a revoked or
    expired token, or an inactive user's, is refused), or the refusal."""
    try:
        found = ApiTokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed as exc:
        return exc
    return found[0] if found else exceptions.NotAuthenticated()


def _api_refusal(exc: exceptions.APIException) -> JsonResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
    body = error_body(code=exc.get_codes(), message=exc.detail)
    return JsonResponse(body, status=exc.status_code, headers=headers)


async def _stream_user(request):
    """Who is asking, as the API decides it (a Bearer token, else the session); a refusal as the API's error (401
    with WWW-Authenticate, 403) for a token client or a path under /api/, as the pages' (the login page) else."""
    api = _bearer_sent(request) or request.path.startswith(API_PREFIX)
    if _bearer_sent(request):
        user = await sync_to_async(_token_user)(request)
        if isinstance(user, exceptions.APIException):
            return None, _api_refusal(user)
    else:
        user = await request.auser()
    if not user.is_authenticated:
        return None, _api_refusal(exceptions.NotAuthenticated()) if api else redirect_to_login(request.get_full_path())
    if not await sync_to_async(has_perms)(user, READ_CONVERSATIONS):
        if not api:
            raise PermissionDenied
        return None, _api_refusal(exceptions.PermissionDenied())
    return user, None


@require_GET
async def stream(request):
    """Server-Sent Events: every event after the client's Last-Event-ID (or `?cursor`, or from now), for the pages
    (their session) and for token clients (`Authorization: Bearer`, also at /api/v1/events/stream).

    A cursor whose following events retention pruned gets 410 with the oldest valid cursor: EventSource does not
    retry after it, and the page (inbox.js) reloads its list and connects again from now."""
    user, refusal = await _stream_user(request)
    if refusal is not None:
        return refusal
    raw = request.headers.get("Last-Event-ID") or request.GET.get("cursor") or ""
    cursor = cursor_parse(raw)
    if cursor is None:
        cursor = await sync_to_async(events_cursor)()  # before the headers: what is stored after it is sent
    else:
        oldest = await sync_to_async(events_oldest_cursor)()
        if cursor < oldest:
            body = error_body(
                code="cursor_pruned",
                message=_(
                    "The events after this cursor were pruned: reload, and resume from oldest_cursor or from now."
                ),
                oldest_cursor=oldest,
                cursor=await sync_to_async(events_cursor)(),
            )
            return JsonResponse(body, status=410)
    # Spread the reconnects of pages opened together (a deploy, a network blip) over half a minute.
    seconds = STREAM_SECONDS * random.uniform(0.9, 1.0)  # noqa: S311 -- not a secret
    response = StreamingHttpResponse(
        event_stream(cursor=cursor, user_id=user.pk, seconds=seconds), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
