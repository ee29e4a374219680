"""Times as the inbox shows them: short enough to leave the row to the lead's name."""

import datetime

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def inbox_time(value: datetime.datetime | None) -> str:
    """Today the time, then "Yesterday", a weekday within the week, the day and month this year, else the date."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    days = (timezone.localdate() - local.date()).days
    if days <= 0:
        return formats.date_format(local, "H:i")
    if days == 1:
        return _("Yesterday")
    if days < 7:
        return formats.date_format(local, "l")
    if local.year == timezone.localdate().year:
        return formats.date_format(local, "j M")
    return formats.date_format(local, "SHORT_DATE_FORMAT")


@register.filter
def full_time(value: datetime.datetime | None) -> str:
    """The date and time in full, for a time's tooltip."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{formats.date_format(local, 'DATE_FORMAT')} {formats.date_format(local, 'H:i')}"
