"""What the inbox reads: the conversations, latest first, with who has each and its state (a page of one thread is
messaging.selectors.thread_page, which the API reads too)."""

import heapq
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import F, FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.utils.functional import cached_property

from conversations.models import Conversation, Note
from conversations.selectors import (
    CURRENT,
    conversation_counts,
    lead_notes_between,
    mentioned_lead_ids,
    mentions_unseen_count,
)
from leads.models import Lead
from leads.selectors import SearchTerms, lead_search_q
from messaging.models import Message
from messaging.selectors import lead_has_channel, lead_has_starred, lead_message_places, thread_page

INBOX_PAGE_SIZE = 30
VIEWS = ("mine", "unassigned", "all", "mentions")  # whose conversations; mentions: notes naming the agent


def inbox_leads(
    *,
    view: str = "all",
    status: str = "all",
    user=None,
    unread: bool = False,
    starred: bool = False,
    stage=None,
    channel: str = "",
    label=None,
    query: str = "",
) -> QuerySet[Lead]:
    """Conversations, latest first, each with its last message and its current episode (status, assignee): one
    query whatever the page holds. The current episode is joined on the one-current index, so a view of one
    agent's or of nobody's reads the leads in time order and stops at the page."""
    # Every condition on the current episode in one filter() after the join is declared, and what the rows show of
    # it annotated after that: each later filter() on the relation would join the conversations once more.
    current = {}
    if view != "mentions":  # whatever the episodes' status: the mention waits to be seen
        if status == "resolved":
            current["current__id__isnull"] = True
        elif status in CURRENT:
            current["current__status"] = status
        if view == "mine":
            current["current__assignee"] = user
        elif view == "unassigned":
            current.update(current__id__isnull=False, current__assignee__isnull=True)
    latest = Message.objects.filter(lead=OuterRef("pk")).order_by("-created_at")
    leads = (
        Lead.objects.filter(last_message_at__isnull=False)
        .annotate(
            current=FilteredRelation("conversations", condition=~Q(conversations__status=Conversation.Status.RESOLVED))
        )
        .filter(**current)
        .select_related("stage")
        .prefetch_related("labels")
        .annotate(
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
    if view == "mentions":
        leads = leads.filter(pk__in=mentioned_lead_ids(user=user))
    if unread:
        leads = leads.filter(unread_count__gt=0)
    if starred:
        leads = leads.filter(has_starred=True)
    if stage is not None:
        leads = leads.filter(stage=stage)
    if channel:
        leads = leads.filter(lead_has_channel(channel))
    if label is not None:
        leads = leads.filter(labels=label)
    terms = SearchTerms.parse(query)
    if terms:
        leads = leads.filter(lead_search_q(terms=terms, more=lead_message_places))
    return leads


def inbox_counts(*, user, status: str) -> dict[str, int | None]:
    """How many conversations each view holds in `status`, from the current-conversation index (never a scan of
    the leads); None where the status has no such count (resolved and all are not kept per view). Mentions are
    counted whatever the status, as their view lists them."""
    counts = conversation_counts(user=user, status=status) if status in CURRENT else dict.fromkeys(VIEWS)
    return {**counts, "mentions": mentions_unseen_count(user=user)}


def inbox_list_count(filters: dict, counts: dict) -> int | None:
    """How many conversations the list holds, when a view's count (read from the current-conversation index) says
    it: only a view and an open or snoozed status chosen, no other filter. None: the list must be counted."""
    narrowed = filters["unread"] or filters["starred"] or filters["stage"] or filters["channel"] or filters["label"]
    if narrowed or filters["query"] or filters["status"] not in CURRENT:
        return None
    return counts.get(filters["view"])


COUNT_AT_MOST = 1000  # conversations a filtered list counts past the page it shows; more reads "34+ pages"


class InboxPaginator(Paginator):
    """Django's, counting no more than it must: the count is given when a view's count says it already (the tabs'
    index read), and a filtered list (a label, a search, a stage, …) is counted only up to COUNT_AT_MOST rows past
    the page asked for, so a filter that matches thousands costs what one that matches a page does. `capped` says
    more rows lie beyond the count."""

    def __init__(self, *args, known: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.known = known
        self.count_limit = COUNT_AT_MOST
        self.capped = False

    def get_page(self, number):
        try:
            asked = max(1, int(number))
        except (TypeError, ValueError):
            asked = 1
        self.count_limit = max(COUNT_AT_MOST, asked * self.per_page)
        return super().get_page(number)

    @cached_property
    def count(self) -> int:
        if self.known is not None:
            return self.known
        counted = self.object_list.order_by().values("pk")[: self.count_limit + 1].count()
        self.capped = counted > self.count_limit
        return min(counted, self.count_limit)


@dataclass(frozen=True)
class ThreadPage:
    """A page of the thread as the conversation shows it: the messages with the team's notes of the same stretch of
    time among them, oldest first, and the message older pages are read before (None: this is the oldest page)."""

    entries: list[Message | Note]
    older_than: Message | None


def thread_entries(*, lead: Lead, before: Message | None = None) -> ThreadPage:
    """The newest page of the thread (older than `before`, if given). A page covers the time from its oldest
    message (from the beginning, for the oldest page) to the page after it (to now, for the newest), so every note
    is on exactly one page."""
    messages, has_older = thread_page(lead=lead, before=before)
    notes = lead_notes_between(
        lead_id=lead.pk,
        since=messages[0].created_at if has_older else None,
        until=before.created_at if before is not None else None,
    )
    entries = list(heapq.merge(messages, notes, key=lambda entry: entry.created_at))
    return ThreadPage(entries=entries, older_than=messages[0] if has_older else None)
