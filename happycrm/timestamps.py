"""Times as people read them: in the current time zone (TIME_ZONE unless one is activated), never raw UTC."""

from datetime import datetime

from django.utils import timezone


def local_timestamp(value: datetime | None, *, seconds: bool = False) -> str:
    """`2026-12-01 15:05`: object titles (`__str__`) show the same clock as the admin's date fields."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
