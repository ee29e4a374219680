"""What the inbox reads: the conversations, latest first, with who has each and its state (a page of one thread is
messaging.selectors.thread_page, which the API reads too)."""

from django.db.models import F, FilteredRelation, OuterRef, Q, QuerySet, Subquery

from conversations.models import Conversation
from conversations.selectors import CURRENT, conversation_counts
from leads.models import Lead
from leads.selectors import SearchTerms, lead_search_q
from messaging.models import Message
from messaging.selectors import lead_has_channel, lead_has_starred, lead_message_places

INBOX_PAGE_SIZE = 30
VIEWS = ("mine", "unassigned", "all")  # whose conversations


def inbox_leads(
    *,
    view: str = "all",
    status: str = "all",
    user=None,
    unread: bool = False,
    starred: bool = False,
    stage=None,
    channel: str = "",
    query: str = "",
) -> QuerySet[Lead]:
    """Conversations, latest first, each with its last message and its current episode (status, assignee): one
    query whatever the page holds. The current episode is joined on the one-current index, so a view of one
    agent's or of nobody's reads the leads in time order and stops at the page."""
    latest = Message.objects.filter(lead=OuterRef("pk")).order_by("-created_at")
    leads = (
        Lead.objects.filter(last_message_at__isnull=False)
        .select_related("stage")
        .annotate(
            current=FilteredRelation("conversations", condition=~Q(conversations__status=Conversation.Status.RESOLVED)),
            last_body=Subquery(latest.values("body")[:1]),
            last_channel=Subquery(latest.values("channel")[:1]),
            last_from_lead=Subquery(latest.values("is_from_lead")[:1]),
            last_status=Subquery(latest.values("status")[:1]),
            last_media=Subquery(latest.values("media_content_type")[:1]),
            has_starred=lead_has_starred(),
            conversation_id=F("current__id"),
            conversation_status=F("current__status"),
            conversation_snoozed_until=F("current__snoozed_until"),
            assignee_id=F("current__assignee_id"),
            assignee_username=F("current__assignee__username"),
            assignee_first_name=F("current__assignee__first_name"),
        )
        .order_by("-last_message_at", "-pk")
    )
    if status == "resolved":
        leads = leads.filter(current__id__isnull=True)
    elif status in CURRENT:
        leads = leads.filter(current__status=status)
    if view == "mine":
        leads = leads.filter(current__assignee=user)
    elif view == "unassigned":
        leads = leads.filter(current__id__isnull=False, current__assignee__isnull=True)
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


def inbox_counts(*, user, status: str) -> dict[str, int | None]:
    """How many conversations each view holds in `status`, from the current-conversation index (never a scan of
    the leads); None where the status has no such count (resolved and all are not kept per view)."""
    if status not in CURRENT:
        return dict.fromkeys(VIEWS)
    return conversation_counts(user=user, status=status)
