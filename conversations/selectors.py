"""Reads of conversations."""

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from .models import Conversation, Mention, Note

CURRENT = (Conversation.Status.OPEN, Conversation.Status.SNOOZED)


def lead_current_conversation(*, lead_id) -> Conversation | None:
    """The lead's open or snoozed conversation, with its assignee; None when it has none (resolved, or never)."""
    return Conversation.objects.filter(lead_id=lead_id, status__in=CURRENT).select_related("assignee").first()


def lead_latest_conversation(*, lead_id) -> Conversation | None:
    """The lead's current conversation, else its latest (resolved) one, with its assignee; None before any."""
    return lead_current_conversation(lead_id=lead_id) or (
        Conversation.objects.filter(lead_id=lead_id).select_related("assignee").order_by("-opened_at", "-pk").first()
    )


def conversations_list(
    *,
    status: str = "",
    assignee_id: int | None = None,
    unassigned: bool = False,
    lead_id=None,
    mentioning=None,
    mentioned: bool | None = None,
) -> QuerySet[Conversation]:
    """The API's conversations, newest first (the id breaking ties, so a page never repeats or skips one), each
    with its lead and assignee: in `status`, `assignee_id`'s or nobody's (`unassigned`), of one lead; with
    `mentioned`, only those whose lead has a note mentioning `mentioning` they have not seen (or only the others)."""
    conversations = Conversation.objects.select_related("lead", "assignee").order_by("-opened_at", "-pk")
    if status:
        conversations = conversations.filter(status=status)
    if assignee_id is not None:
        conversations = conversations.filter(assignee_id=assignee_id)
    if unassigned:
        conversations = conversations.filter(assignee__isnull=True)
    if lead_id is not None:
        conversations = conversations.filter(lead_id=lead_id)
    if mentioned is not None:
        unseen = Q(lead_id__in=mentioned_lead_ids(user=mentioning))
        conversations = conversations.filter(unseen if mentioned else ~unseen)
    return conversations


def current_conversation_channel() -> Subquery:
    """For a query of leads: the channel chosen in each one's current conversation (None or "" when none was)."""
    current = Conversation.objects.filter(lead=OuterRef("pk"), status__in=CURRENT)
    return Subquery(current.values("channel")[:1])


def conversation_counts(*, user, status: str) -> dict[str, int]:
    """The current conversations in `status`: the user's, nobody's and all, in one index read."""
    return Conversation.objects.filter(status=status).aggregate(
        mine=Count("pk", filter=Q(assignee=user)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        all=Count("pk"),
    )


NOTE_FIELDS = (
    "id",
    "lead_id",
    "body",
    "created_at",
    "author_id",
    "author__username",
    "author__first_name",
    "author__last_name",
)


def lead_notes_between(*, lead_id, since=None, until=None) -> list[Note]:
    """The lead's notes from `since` (inclusive) to `until` (exclusive), oldest first, with their authors: the
    stretch of time a page of the thread covers (either bound open)."""
    notes = Note.objects.filter(lead_id=lead_id).select_related("author").only(*NOTE_FIELDS)
    if since is not None:
        notes = notes.filter(created_at__gte=since)
    if until is not None:
        notes = notes.filter(created_at__lt=until)
    return list(notes.order_by("created_at", "pk"))


def lead_notes_page(*, lead_id, before: Note | None = None, after: Note | None = None, size: int = 50):
    """A page of a lead's notes, oldest first, and whether more lie beyond it the way it was read (as
    messaging.selectors.thread_page reads messages): the newest `size` (older than `before`, if given), or the
    `size` oldest newer than `after`; each with its author and the ids of the agents it mentions. Keyset on
    (created_at, id) over note_thread_idx, so a page deep in the thread reads what the first does."""
    mentions = Prefetch("mentions", queryset=Mention.objects.only("pk", "note_id", "user_id").order_by("pk"))
    notes = Note.objects.filter(lead_id=lead_id).select_related("author").only(*NOTE_FIELDS).prefetch_related(mentions)
    if after is not None:
        notes = notes.filter(
            Q(created_at__gt=after.created_at) | Q(created_at=after.created_at, pk__gt=after.pk),
            created_at__gte=after.created_at,
        ).order_by("created_at", "pk")
    else:
        notes = notes.order_by("-created_at", "-pk")
        if before is not None:
            notes = notes.filter(
                Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk),
                created_at__lte=before.created_at,
            )
    page = list(notes[: size + 1])
    more = len(page) > size
    page = page[:size]
    return (page if after is not None else list(reversed(page))), more


def mentioned_lead_ids(*, user):
    """The leads whose conversations mention `user` in a note they have not seen (a subquery's values)."""
    return Mention.objects.filter(user=user, seen_at__isnull=True).values("lead_id")


def mentions_unseen_count(*, user) -> int:
    """In how many conversations `user` is mentioned and has not looked yet (the unseen-mention index alone)."""
    return Mention.objects.filter(user=user, seen_at__isnull=True).values("lead_id").distinct().count()
