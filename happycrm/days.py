"""Local days for the figures that count per day: the business's day (TIME_ZONE, or the zone a request activated),
never UTC's, the same on SQLite and PostgreSQL."""

import datetime

from django.db.models.functions import TruncDate
from django.utils import timezone


def day_start(day: datetime.date) -> datetime.datetime:
    """The moment the local day begins (an aware datetime): a period's lower bound, an index range."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def local_day(field: str) -> TruncDate:
    """The local day of a timestamp column, computed by the database (group by it)."""
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def last_days(days: int) -> list[datetime.date]:
    """The last `days` local days, oldest first, today the last."""
    today = timezone.localdate()
    return [today - datetime.timedelta(days=n) for n in range(days - 1, -1, -1)]
