"""What the inbox reads: the conversations, latest first (a page of one thread is messaging.selectors.thread_page,
which the API reads too)."""

from django.db.models import OuterRef, QuerySet, Subquery

from leads.models import Lead
from leads.selectors import SearchTerms, lead_search_q
from messaging.models import Message
from messaging.selectors import lead_has_channel, lead_has_starred, lead_message_places

INBOX_PAGE_SIZE = 30


def inbox_leads(
    *, unread: bool = False, starred: bool = False, stage=None, channel: str = "", query: str = ""
) -> QuerySet[Lead]:
    """Conversations, latest first, each with its last message: one query whatever the page holds."""
    latest = Message.objects.filter(lead=OuterRef("pk")).order_by("-created_at")
    leads = (
        Lead.objects.filter(last_message_at__isnull=False)
        .select_related("stage")
        .annotate(
            last_body=Subquery(latest.values("body")[:1]),
            last_channel=Subquery(latest.values("channel")[:1]),
            last_from_lead=Subquery(latest.values("is_from_lead")[:1]),
            last_status=Subquery(latest.values("status")[:1]),
            last_media=Subquery(latest.values("media_content_type")[:1]),
            has_starred=lead_has_starred(),
        )
        .order_by("-last_message_at", "-pk")
    )
    if unread:
        leads = leads.filter(unread_count__gt=0)
    if starred:
        leads = leads.filter(has_starred=True)
    if stage is not None:
        leads = leads.filter(stage=stage)
    if channel:
        leads = leads.filter(lead_has_channel(channel))
    terms = SearchTerms.parse(query)
    if terms:
        leads = leads.filter(lead_search_q(terms=terms, more=lead_message_places))
    return leads
