"""A time span as the dashboard's tables write it: short, to the minute, in the current language."""

import datetime

from django import template
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def short_duration(value: datetime.timedelta | None) -> str:
    """`45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`; a dash for no time at all (nothing to measure)."""
    if value is None:
        return "–"
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return pgettext("duration", "%(seconds)d s") % {"seconds": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return pgettext("duration", "%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return pgettext("duration", "%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return pgettext("duration", "%(days)d d %(hours)d h") % {"days": days, "hours": hours}
