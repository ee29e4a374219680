from .models import Event

EVENTS_PAGE = 200


def events_after(*, cursor: int, limit: int = EVENTS_PAGE) -> list[Event]:
    """Events newer than `cursor` (an event id), oldest first: what a screen that was away has missed."""
    return list(Event.objects.filter(pk__gt=cursor).order_by("pk")[:limit])


def events_cursor() -> int:
    """Where a screen that starts now begins: after the newest event."""
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
