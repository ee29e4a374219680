"""The dashboard's figures, each from the selectors of the app that owns the rows."""

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from campaigns.selectors import campaigns_outcomes
from leads.selectors import leads_by_stage
from messaging.selectors import WHATSAPP_WINDOW, message_failures_by_code, messages_by_day, webhook_health
from retention.selectors import retention_summary

from .charts import bar_rows, day_chart

DAYS = 30


def _funnel(funnel: dict) -> dict:
    steps = [
        (pgettext("funnel", "Queued"), funnel["queued"]),
        (pgettext("funnel", "Sent"), funnel["sent"]),
        (pgettext("funnel", "Delivered"), funnel["delivered"]),
        (pgettext("funnel", "Read"), funnel["read"]),
        (pgettext("funnel", "Failed"), funnel["failed"]),
    ]
    return bar_rows(steps, scale_to=funnel["queued"])


def dashboard_figures() -> dict:
    """Everything the admin index shows, in a fixed number of queries whatever the size of the tables."""
    now = timezone.now()
    stages = leads_by_stage(open_since=now - WHATSAPP_WINDOW)
    messages = messages_by_day(days=DAYS)
    for day in messages["days"]:  # the chart's words, in the current language, once per day
        day["short"], day["long"] = date_format(day["day"], "j M"), date_format(day["day"], "j E")
    return {
        "stages": stages,
        "leads_total": sum(stage["total"] for stage in stages),
        "unread": sum(stage["unread"] for stage in stages),
        "open": sum(stage["open"] for stage in stages),
        "messages": messages,
        "messages_chart": day_chart(messages["days"]),
        "funnel_week": _funnel(messages["funnel"]["7"]),
        "funnel_month": _funnel(messages["funnel"][str(DAYS)]),
        "failures": message_failures_by_code(days=DAYS),
        "campaigns": campaigns_outcomes(days=DAYS),
        "webhooks": webhook_health(days=7),
        "retention": retention_summary(days=DAYS),
        "days": DAYS,
        "now": now,
        "series_names": {"inbound": _("Inbound"), "outbound": _("Outbound")},
    }
