"""Reads of conversations."""

from django.db.models import Count, Q

from .models import Conversation

CURRENT = (Conversation.Status.OPEN, Conversation.Status.SNOOZED)


def lead_current_conversation(*, lead_id) -> Conversation | None:
    """The lead's open or snoozed conversation, with its assignee; None when it has none (resolved, or never)."""
    return Conversation.objects.filter(lead_id=lead_id, status__in=CURRENT).select_related("assignee").first()


def conversation_counts(*, user, status: str) -> dict[str, int]:
    """The current conversations in `status`: the user's, nobody's and all, in one index read."""
    return Conversation.objects.filter(status=status).aggregate(
        mine=Count("pk", filter=Q(assignee=user)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        all=Count("pk"),
    )
