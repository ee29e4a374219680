"""Reads of conversations."""

from django.db.models import Count, OuterRef, Q, Subquery

from .models import Conversation, Mention, Note

CURRENT = (Conversation.Status.OPEN, Conversation.Status.SNOOZED)


def lead_current_conversation(*, lead_id) -> Conversation | None:
    """The lead's open or snoozed conversation, with its assignee; None when it has none (resolved, or never)."""
    return Conversation.objects.filter(lead_id=lead_id, status__in=CURRENT).select_related("assignee").first()


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


def mentioned_lead_ids(*, user):
    """The leads whose conversations mention `user` in a note they have not seen (a subquery's values)."""
    return Mention.objects.filter(user=user, seen_at__isnull=True).values("lead_id")


def mentions_unseen_count(*, user) -> int:
    """In how many conversations `user` is mentioned and has not looked yet (the unseen-mention index alone)."""
    return Mention.objects.filter(user=user, seen_at__isnull=True).values("lead_id").distinct().count()
