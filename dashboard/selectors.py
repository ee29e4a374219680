"""The dashboard's figures, each from the selectors of the app that owns the rows."""

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from campaigns.selectors import campaigns_outcomes
from conversations.selectors import conversation_reports
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


def _day_words(days: list[dict]) -> None:
    """The chart's words for each day, in the current language."""
    for day in days:
        day["short"], day["long"] = date_format(day["day"], "j M"), date_format(day["day"], "j E")


def dashboard_figures() -> dict:
    """Everything the admin index shows, in a fixed number of queries whatever the size of the tables."""
    now = timezone.now()
    stages = leads_by_stage(open_since=now - WHATSAPP_WINDOW)
    messages = messages_by_day(days=DAYS)
    _day_words(messages["days"])
    series_names = {"inbound": _("Inbound"), "outbound": _("Outbound")}
    return {
        "stages": stages,
        "leads_total": sum(stage["total"] for stage in stages),
        "unread": sum(stage["unread"] for stage in stages),
        "open": sum(stage["open"] for stage in stages),
        "messages": messages,
        "messages_chart": day_chart(messages["days"], names=series_names),
        "funnel_week": _funnel(messages["funnel"]["7"]),
        "funnel_month": _funnel(messages["funnel"][str(DAYS)]),
        "failures": message_failures_by_code(days=DAYS),
        "campaigns": campaigns_outcomes(days=DAYS),
        "webhooks": webhook_health(days=7),
        "retention": retention_summary(days=DAYS),
        "days": DAYS,
        "now": now,
        "series_names": series_names,
    }


def dashboard_reports() -> dict:
    """The team's conversations over the dashboard's period: opened and resolved per day (a chart), first-response
    and resolution times per agent and per day (the latest day first), in a fixed number of queries."""
    reports = conversation_reports(days=DAYS)
    _day_words(reports["days"])
    names = {"opened": pgettext("conversations", "Opened"), "resolved": pgettext("conversations", "Resolved")}
    return {
        **reports,
        "chart": day_chart(reports["days"], series=tuple(names), names=names),
        "names": names,
        "latest_first": list(reversed(reports["days"])),
        "resolved": reports["total"]["resolution"]["count"],
        "days_count": DAYS,
    }
