from collections import Counter

from django.db import transaction
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from conversations.services import conversation_open_for_history
from leads.models import Lead
from leads.services import lead_activity_set, leads_unread_decrease, leads_unread_increase
from messaging.models import Message
from notifications.services import event_read


def messages_mark_read(*, queryset: QuerySet[Message]) -> int:
    """Mark messages read and take them off their leads' unread counts; returns how many changed.

    Rows are locked and only unread ones change, so two agents opening the same
    conversation at once never decrement a lead twice.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            queryset.filter(is_read=False).select_for_update().order_by().values_list("pk", "lead_id", "is_from_lead")
        )
        if not rows:
            return 0
        Message.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(is_read=True, read_at=now, updated_at=now)
        per_lead = Counter(lead_id for _, lead_id, is_from_lead in rows if is_from_lead)
        leads_unread_decrease(counts=per_lead)
        if per_lead:
            event_read(lead_ids=list(per_lead))
    return len(rows)


def lead_mark_unread(*, lead: Lead) -> int:
    """Leave a conversation for later: its newest message from the lead is unread again, unless one already is (so
    the inbox counts one unread and lists it under Unread); returns how many changed (0 or 1).

    The update only changes a read message, so two agents doing it at once count it once."""
    newest = lead.messages.filter(is_from_lead=True).order_by("-created_at", "-pk").values_list("pk", "is_read")[:1]
    found = list(newest)
    if not found or not found[0][1]:
        return 0  # nothing from the lead, or its newest message is unread already
    now = timezone.now()
    with transaction.atomic():
        changed = Message.objects.filter(pk=found[0][0], is_read=True).update(
            is_read=False, read_at=None, updated_at=now
        )
        if changed:
            leads_unread_increase(counts={lead.pk: changed})
            event_read(lead_ids=[lead.pk])
    return changed


def messages_set_starred(*, queryset: QuerySet[Message], starred: bool) -> int:
    now = timezone.now()
    return queryset.exclude(is_starred=starred).update(
        is_starred=starred, starred_at=now if starred else None, updated_at=now
    )


def messages_move_to_lead(*, from_lead_id, to_lead_id) -> int:
    """A merge of two leads: the other lead's messages (with their attachments, delivery history and provider log)
    are the kept one's from now on, in the caller's transaction; how many moved. The kept lead's columns derived
    from its messages are recomputed after (lead_activity_refresh)."""
    return Message.objects.filter(lead_id=from_lead_id).update(lead_id=to_lead_id, updated_at=timezone.now())


def lead_activity_refresh(*, lead: Lead) -> Lead:
    """Recompute a lead's message-derived columns (last message, last inbound, unread count) from its messages, for
    messages stored another way than the message paths (the demo's); a lead that never had a conversation gets
    its first, as the migration gave every lead with messages."""
    stats = lead.messages.aggregate(
        last_message_at=Max("created_at"),
        last_inbound_at=Max("created_at", filter=Q(is_from_lead=True)),
        unread_count=Count("pk", filter=Q(is_from_lead=True, is_read=False)),
        first_at=Min("created_at"),
        first_answer_at=Min("created_at", filter=Q(sent_by__isnull=False)),
    )
    conversation_open_for_history(
        lead_id=lead.pk, opened_at=stats.pop("first_at"), first_response_at=stats.pop("first_answer_at")
    )
    return lead_activity_set(lead=lead, **stats)
