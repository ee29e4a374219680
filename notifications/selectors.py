from .models import Event

EVENTS_PAGE = 200
MAX_EVENT_ID = 2**63 - 1  # the id column is a bigint


def cursor_parse(raw: str) -> int | None:
    """An event id as a client sends it (Last-Event-ID, ?cursor=): ASCII digits within the column, else None."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    cursor = int(raw)
    return cursor if cursor <= MAX_EVENT_ID else None


def events_after(*, cursor: int, limit: int = EVENTS_PAGE) -> list[Event]:
    """Events newer than `cursor` (an event id), oldest first: what a screen that was away has missed."""
    return list(Event.objects.filter(pk__gt=cursor).order_by("pk")[:limit])


def events_cursor() -> int:
    """Where a screen that starts now begins: after the newest event."""
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def lead_events_count(*, lead_id) -> int:
    return Event.objects.filter(lead_id=lead_id).count()


def status_changes_for_messages(*, message_ids) -> dict:
    """The status changes recorded for these messages (each a status update event: when, which status, which error
    code), oldest first, by message id."""
    changes = {}
    events = Event.objects.filter(type=Event.Type.STATUS_UPDATE, message_id__in=list(message_ids)).order_by("pk")
    for event in events.only("pk", "message_id", "payload", "created_at"):
        changes.setdefault(event.message_id, []).append(event)
    return changes
