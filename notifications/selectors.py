from .models import Event, PruneMark

EVENTS_PAGE = 200
MAX_EVENT_ID = 2**63 - 1  # the id column is a bigint


def cursor_parse(raw: str) -> int | None:
    """An event id as a client sends it (Last-Event-ID, ?cursor=): ASCII digits within the column, else None."""
    raw = raw.strip()
    # A bigint has at most 19 digits; a longer string is refused before int() (which refuses past 4,300 digits).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_EVENT_ID)):
        return None
    cursor = int(raw)
    return cursor if cursor <= MAX_EVENT_ID else None


class CursorPruned(Exception):
    """Events after the client's cursor were pruned by retention: it must start again from `oldest_cursor`."""

    def __init__(self, oldest_cursor: int):
        super().__init__(oldest_cursor)
        self.oldest_cursor = oldest_cursor


def events_oldest_cursor() -> int:
    """The oldest cursor a client may resume from: every event after it is still stored."""
    return PruneMark.objects.values_list("pruned_through", flat=True).first() or 0


def events_after(*, cursor: int, limit: int = EVENTS_PAGE) -> list[Event]:
    """Events newer than `cursor` (an event id), oldest first: what a screen that was away has missed.

    Raises CursorPruned when retention removed events after `cursor`. The mark is read after the events: a prune
    that removed any of them committed before that read, so a gap is never returned as if it were all."""
    events = list(Event.objects.filter(pk__gt=cursor).order_by("pk")[:limit])
    oldest = events_oldest_cursor()
    if cursor < oldest:
        raise CursorPruned(oldest)
    return events


def events_cursor() -> int:
    """Where a screen that starts now begins: after the newest event, or after the pruned ones when retention
    removed them all (a cursor below the prune mark would be refused on the screen's next reconnect)."""
    newest = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return newest or events_oldest_cursor()


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
