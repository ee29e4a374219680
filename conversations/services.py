"""What changes a conversation. Each function takes many leads at once where the message paths do (a batch of
webhooks, a batch of sends): a fixed number of statements whatever their number."""

import datetime

from django.utils import timezone

from .models import Conversation

Status = Conversation.Status


def conversations_record_inbound(*, received: dict) -> None:
    """Messages from leads arrived (lead id → the time of its first one here): each lead's current conversation is
    open again (a snoozed one wakes up), and a lead without one has a new episode, opened at that first message.

    Two statements: a new episode is offered for every lead and the database keeps it only where none is current
    (conversation_one_current), so two workers opening one lead's episode at once open one."""
    if not received:
        return
    now = timezone.now()
    Conversation.objects.filter(lead_id__in=received, status=Status.SNOOZED).update(
        status=Status.OPEN, snoozed_until=None, updated_at=now
    )
    Conversation.objects.bulk_create(
        [Conversation(lead_id=lead_id, opened_at=at, updated_at=now) for lead_id, at in received.items()],
        ignore_conflicts=True,
    )


def conversations_record_replies(*, replies: dict) -> None:
    """Agents wrote to leads (lead id → (the time of the first message here, the agent)): the current episode's
    first response, if it has none yet; a lead without a current one has an episode started by that agent, who has
    it, answered at once."""
    if not replies:
        return
    now = timezone.now()
    current = {
        conversation.lead_id: conversation
        for conversation in Conversation.objects.filter(lead_id__in=replies).exclude(status=Status.RESOLVED)
    }
    unanswered = [pk for pk, conversation in current.items() if conversation.first_response_at is None]
    for lead_id in unanswered:
        Conversation.objects.filter(pk=current[lead_id].pk, first_response_at__isnull=True).update(
            first_response_at=replies[lead_id][0], updated_at=now
        )
    started = [
        Conversation(lead_id=lead_id, opened_at=at, first_response_at=at, assignee=agent, updated_at=now)
        for lead_id, (at, agent) in replies.items()
        if lead_id not in current
    ]
    Conversation.objects.bulk_create(started, ignore_conflicts=True)


def conversation_resolve(*, conversation: Conversation, at: datetime.datetime | None = None) -> Conversation:
    """Done with: out of the default view until the lead writes again (which opens the next episode)."""
    conversation.status, conversation.snoozed_until = Status.RESOLVED, None
    conversation.resolved_at = at or timezone.now()
    conversation.save(update_fields=["status", "snoozed_until", "resolved_at", "updated_at"])
    return conversation
