"""What changes a conversation. The message paths call in batches (a worker's webhooks, a send), each in a fixed
number of statements whatever their number; the pages, the API and the admin change one or a selection. Every
change is announced (`conversation_changed`), so each open page shows it within a moment."""

import datetime
import re
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from accounts.permissions import READ_CONVERSATIONS
from accounts.selectors import users_with_perms
from accounts.services import agents_take_turns
from notifications.models import Event
from notifications.services import event_record, events_record

from .models import Conversation, Mention, Note
from .selectors import CURRENT

Status = Conversation.Status


class ConversationRefused(Exception):
    """A change that cannot be made as asked, with the reason for the agent (and a code for the API)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message, self.code = message, code


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def conversation_payload(conversation: Conversation) -> dict:
    """What screens (and the events feed) are told of a conversation."""
    return {
        "lead_id": str(conversation.lead_id),
        "conversation_id": str(conversation.pk),
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "assignee": _who(conversation.assignee) if conversation.assignee_id else "",
        "snoozed_until": conversation.snoozed_until.isoformat() if conversation.snoozed_until else None,
    }


def _announce(conversations: Iterable[Conversation]) -> None:
    events_record(
        type=Event.Type.CONVERSATION_CHANGED,
        items=((c.lead_id, None, conversation_payload(c)) for c in conversations),
    )


def _assignable():
    return users_with_perms(READ_CONVERSATIONS)


def conversations_record_inbound(*, received: dict) -> dict:
    """Messages from leads arrived (lead id → the time of its first one here): each lead's current conversation is
    open again (a snoozed one wakes up), and a lead without one has a new episode, opened at that first message
    (given to the next available agent when INBOX_AUTO_ASSIGN is on). Returns each lead's assignee id (None:
    nobody's), whom its new-message notification is for.

    A new episode is offered for every lead without a current one, and the database keeps at most one current per
    lead (conversation_one_current): two workers opening one lead's episode at once open one."""
    if not received:
        return {}
    now = timezone.now()
    current = {
        c.lead_id: c
        for c in Conversation.objects.filter(lead_id__in=received)
        .exclude(status=Status.RESOLVED)
        .select_related("assignee")
    }
    woken = [c for c in current.values() if c.status == Status.SNOOZED]
    if woken:
        Conversation.objects.filter(pk__in=[c.pk for c in woken], status=Status.SNOOZED).update(
            status=Status.OPEN, snoozed_until=None, updated_at=now
        )
        for conversation in woken:
            conversation.status, conversation.snoozed_until = Status.OPEN, None
    new_leads = [lead_id for lead_id in received if lead_id not in current]
    turns = agents_take_turns(among=_assignable(), count=len(new_leads)) if settings.INBOX_AUTO_ASSIGN else []
    agents = get_user_model().objects.in_bulk(set(turns)) if turns else {}
    opened = {
        lead_id: Conversation(
            lead_id=lead_id,
            opened_at=received[lead_id],
            assignee=agents.get(turns[n]) if turns else None,
            updated_at=now,
        )
        for n, lead_id in enumerate(new_leads)
    }
    if opened:
        Conversation.objects.bulk_create(opened.values(), ignore_conflicts=True)
    changed = woken + [c for c in opened.values() if c.assignee_id is not None]  # else its new message tells
    if changed:
        _announce(changed)
    return {lead_id: (current.get(lead_id) or opened[lead_id]).assignee_id for lead_id in received}


def conversations_record_replies(*, replies: dict) -> None:
    """Agents wrote to leads (lead id → (the time of the first message here, the agent, its channel)): the current
    episode's first response, if it has none yet, and an episode nobody had is the replying agent's now (so the
    team sees someone is on it); a lead without a current one has an episode started by that agent, who has it,
    answered at once, on that channel."""
    if not replies:
        return
    now = timezone.now()
    current = {
        c.lead_id: c
        for c in Conversation.objects.filter(lead_id__in=replies)
        .exclude(status=Status.RESOLVED)
        .select_related("assignee")
    }
    taken = []
    for lead_id, conversation in current.items():
        at, agent, _channel = replies[lead_id]
        if conversation.first_response_at is None:
            Conversation.objects.filter(pk=conversation.pk, first_response_at__isnull=True).update(
                first_response_at=at, updated_at=now
            )
        # Only if still nobody's: an agent who took it a moment before keeps it.
        if (
            conversation.assignee_id is None
            and agent is not None
            and Conversation.objects.filter(pk=conversation.pk, assignee__isnull=True).update(
                assignee=agent, updated_at=now
            )
        ):
            conversation.assignee = agent
            taken.append(conversation)
    started = [
        Conversation(
            lead_id=lead_id, opened_at=at, first_response_at=at, assignee=agent, channel=channel, updated_at=now
        )
        for lead_id, (at, agent, channel) in replies.items()
        if lead_id not in current
    ]
    if started:
        Conversation.objects.bulk_create(started, ignore_conflicts=True)
    if started or taken:
        _announce(started + taken)


def conversation_channel_set(*, lead_id, channel: str) -> bool:
    """The agent chose the channel to write on in the lead's current episode (the caller checked it is one):
    remembered for the episode, for every agent. Whether there was a current episode to remember it in."""
    current = Conversation.objects.filter(lead_id=lead_id, status__in=CURRENT)
    return bool(current.update(channel=channel, updated_at=timezone.now()))


def conversation_open_for_history(*, lead_id, opened_at, first_response_at=None) -> None:
    """A lead whose messages were stored another way than the message paths (the demo's) gets its conversation if
    it never had one: open from its first message, answered at the first an agent sent."""
    if opened_at is None or Conversation.objects.filter(lead_id=lead_id).exists():
        return
    Conversation.objects.bulk_create(
        [Conversation(lead_id=lead_id, opened_at=opened_at, first_response_at=first_response_at)],
        ignore_conflicts=True,
    )


def conversations_move_to_lead(*, from_lead_id, to_lead_id) -> int:
    """A merge of two leads: the other lead's episodes are the kept one's from now on, in the caller's transaction;
    how many. A lead has one current episode at most (conversation_one_current): when both leads have one, they
    become one, the kept lead's, which takes the earlier opening and first answer, the other's assignee if it had
    none, and is open if either was (else snoozed until the earlier wake-up); the other's current row goes. Its
    resolved episodes move as they are."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        current = {
            c.lead_id: c
            for c in Conversation.objects.select_for_update()
            .filter(lead_id__in=[from_lead_id, to_lead_id], status__in=CURRENT)
            .order_by("pk")
        }
        kept, other = current.get(to_lead_id), current.get(from_lead_id)
        folded = 0
        if kept is not None and other is not None:
            answers = [at for at in (kept.first_response_at, other.first_response_at) if at is not None]
            kept.opened_at = min(kept.opened_at, other.opened_at)
            kept.first_response_at = min(answers, default=None)
            kept.assignee_id = kept.assignee_id or other.assignee_id
            kept.channel = kept.channel or other.channel
            if Status.OPEN in (kept.status, other.status):
                kept.status, kept.snoozed_until = Status.OPEN, None
            else:
                kept.snoozed_until = min(kept.snoozed_until, other.snoozed_until)
            Conversation.objects.filter(pk=other.pk).delete()
            fields = ["opened_at", "first_response_at", "assignee", "channel", "status", "snoozed_until", "updated_at"]
            kept.save(update_fields=fields)
            folded = 1
        moved = Conversation.objects.filter(lead_id=from_lead_id).update(lead_id=to_lead_id, updated_at=now)
        if kept is not None or other is not None:
            _announce(Conversation.objects.filter(lead_id=to_lead_id, status__in=CURRENT).select_related("assignee"))
    return moved + folded


def notes_move_to_lead(*, from_lead_id, to_lead_id) -> int:
    """A merge of two leads: the other lead's notes (and the mentions in them) are the kept one's; how many."""
    Mention.objects.filter(lead_id=from_lead_id).update(lead_id=to_lead_id)
    return Note.objects.filter(lead_id=from_lead_id).update(lead_id=to_lead_id)


def lead_conversations_erase(*, lead_id) -> dict[str, int]:
    """An erasure: the lead's episodes, its notes and the mentions in them; how many of each."""
    Mention.objects.filter(lead_id=lead_id).delete()
    notes, _ = Note.objects.filter(lead_id=lead_id).delete()
    conversations, _ = Conversation.objects.filter(lead_id=lead_id).delete()
    return {"conversations": conversations, "notes": notes}


def _changed(conversation: Conversation, **fields) -> Conversation:
    for name, value in fields.items():
        setattr(conversation, name, value)
    conversation.save(update_fields=[*fields, "updated_at"])
    _announce([conversation])
    return conversation


def conversation_take(*, conversation: Conversation, agent) -> Conversation:
    """The agent takes a conversation nobody has. Of two agents taking it at once one wins; the other (and anyone
    taking one that someone has) is refused with who has it."""
    with transaction.atomic():
        taken = Conversation.objects.filter(pk=conversation.pk, assignee__isnull=True).update(
            assignee=agent, updated_at=timezone.now()
        )
        conversation.refresh_from_db()
        if not taken and conversation.assignee_id != agent.pk:
            raise ConversationRefused(
                _("%(name)s has this conversation already.") % {"name": _who(conversation.assignee)}, code="taken"
            )
        if taken:
            _announce([conversation])
    return conversation


def conversations_assign(*, conversations: Iterable[Conversation], assignee) -> list[Conversation]:
    """Give conversations to an agent (`assignee`), or to nobody (None): the pages' assign and unassign, in bulk
    too. Only someone who may read conversations can be given one."""
    if assignee is not None and not _assignable().filter(pk=assignee.pk).exists():
        raise ConversationRefused(_("%(name)s cannot read conversations.") % {"name": _who(assignee)}, code="assignee")
    changed = [c for c in conversations if c.assignee_id != (assignee.pk if assignee else None)]
    if changed:
        Conversation.objects.filter(pk__in=[c.pk for c in changed]).update(assignee=assignee, updated_at=timezone.now())
        for conversation in changed:
            conversation.assignee = assignee
        _announce(changed)
    return changed


def conversations_resolve(*, conversations: Iterable[Conversation], at: datetime.datetime | None = None) -> list:
    """Done with: out of the default view until the lead writes again, which opens the next episode."""
    changed = [c for c in conversations if c.status != Status.RESOLVED]
    if changed:
        at = at or timezone.now()
        Conversation.objects.filter(pk__in=[c.pk for c in changed]).exclude(status=Status.RESOLVED).update(
            status=Status.RESOLVED, snoozed_until=None, resolved_at=at, updated_at=timezone.now()
        )
        for conversation in changed:
            conversation.status, conversation.snoozed_until, conversation.resolved_at = Status.RESOLVED, None, at
        _announce(changed)
    return changed


def conversations_snooze(*, conversations: Iterable[Conversation], until: datetime.datetime) -> list:
    """Out of the open view until `until` (or the lead's next message): then open again by itself."""
    if until <= timezone.now():
        raise ConversationRefused(_("Snooze until a time in the future."), code="snooze_past")
    changed = [c for c in conversations if c.status != Status.RESOLVED]
    if changed:
        Conversation.objects.filter(pk__in=[c.pk for c in changed]).exclude(status=Status.RESOLVED).update(
            status=Status.SNOOZED, snoozed_until=until, updated_at=timezone.now()
        )
        for conversation in changed:
            conversation.status, conversation.snoozed_until = Status.SNOOZED, until
        _announce(changed)
    return changed


def conversation_reopen(*, conversation: Conversation) -> Conversation:
    """Open again: a snoozed one now, a resolved one unless the lead has another current one (a later episode)."""
    if conversation.status == Status.OPEN:
        return conversation
    try:
        with transaction.atomic():
            return _changed(conversation, status=Status.OPEN, snoozed_until=None, resolved_at=None)
    except IntegrityError:
        conversation.refresh_from_db()
        raise ConversationRefused(
            _("The lead has a newer conversation: open that one."), code="newer_conversation"
        ) from None


def conversations_wake_due(*, now: datetime.datetime | None = None) -> int:
    """Snoozed conversations whose time has come are open again (the beat's sweep, every minute)."""
    now = now or timezone.now()
    due = list(Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now).select_related("assignee"))
    if due:
        Conversation.objects.filter(pk__in=[c.pk for c in due], status=Status.SNOOZED).update(
            status=Status.OPEN, snoozed_until=None, updated_at=now
        )
        for conversation in due:
            conversation.status, conversation.snoozed_until = Status.OPEN, None
        _announce(due)
    return len(due)


# One way in for the pages, the API and the admin: an action by name on one lead's conversation or on several.

SNOOZE_PRESETS = {
    "hour": pgettext_lazy("snooze", "For an hour"),
    "evening": pgettext_lazy("snooze", "Until this evening"),
    "tomorrow": pgettext_lazy("snooze", "Until tomorrow morning"),
    "week": pgettext_lazy("snooze", "Until next week"),
}
MORNING, EVENING = datetime.time(9, 0), datetime.time(18, 0)
ACTIONS = ("take", "assign", "unassign", "resolve", "snooze", "reopen")


def snooze_until(*, preset: str = "", until: str = "", now: datetime.datetime | None = None) -> datetime.datetime:
    """When a snooze ends: a preset (in an hour, this evening at 18:00, tomorrow at 09:00, next Monday at 09:00, in
    the site's time zone) or a date and time the agent chose (`YYYY-MM-DDTHH:MM`, local)."""
    now = timezone.localtime(now or timezone.now())
    today = now.date()

    def at(day: datetime.date, time: datetime.time) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(day, time))

    if preset == "hour":
        return now + datetime.timedelta(hours=1)
    if preset == "evening":
        evening = at(today, EVENING)
        return evening if evening > now else at(today + datetime.timedelta(days=1), EVENING)
    if preset == "tomorrow":
        return at(today + datetime.timedelta(days=1), MORNING)
    if preset == "week":
        return at(today + datetime.timedelta(days=7 - today.weekday()), MORNING)
    chosen = parse_datetime(until) if until else None
    if chosen is None:
        raise ConversationRefused(_("Choose until when to snooze."), code="snooze_until")
    return timezone.make_aware(chosen) if timezone.is_naive(chosen) else chosen


def _assignee(assignee_id):
    if assignee_id in ("", None):
        raise ConversationRefused(_("Choose an agent."), code="assignee")
    found = _assignable().filter(pk=assignee_id).first() if str(assignee_id).isdigit() else None
    if found is None:
        raise ConversationRefused(_("That agent cannot read conversations."), code="assignee")
    return found


def conversations_action(*, lead_ids, action: str, agent, assignee_id="", snooze: str = "", until: str = "") -> list:
    """`action` on the conversations of these leads: take (the agent's, where nobody has it), assign (to
    `assignee_id`), unassign, resolve, snooze (a preset, or `until`), reopen (the latest resolved ones). A lead with
    no conversation to act on is passed over; none at all is refused."""
    if action not in ACTIONS:
        raise ConversationRefused(_("Unknown action."), code="action")
    if action == "reopen":
        conversations = _latest_resolved(lead_ids)
    else:
        conversations = list(
            Conversation.objects.filter(lead_id__in=lead_ids, status__in=CURRENT).select_related("assignee")
        )
    if not conversations:
        raise ConversationRefused(_("No conversation to change: it was resolved meanwhile."), code="no_conversation")
    if action == "take":
        taken = []
        for conversation in conversations:
            try:
                taken.append(conversation_take(conversation=conversation, agent=agent))
            except ConversationRefused:
                if len(conversations) == 1:
                    raise
        return taken
    if action == "assign":
        return conversations_assign(conversations=conversations, assignee=_assignee(assignee_id))
    if action == "unassign":
        return conversations_assign(conversations=conversations, assignee=None)
    if action == "resolve":
        return conversations_resolve(conversations=conversations)
    if action == "snooze":
        return conversations_snooze(conversations=conversations, until=snooze_until(preset=snooze, until=until))
    reopened = []
    for conversation in conversations:
        reopened.append(conversation_reopen(conversation=conversation))
    return reopened


def _latest_resolved(lead_ids) -> list[Conversation]:
    """Each lead's latest conversation, where it is resolved (a lead with a current one has nothing to reopen)."""
    latest = {}
    conversations = Conversation.objects.filter(lead_id__in=lead_ids).select_related("assignee")
    for conversation in conversations.order_by("lead_id", "-opened_at"):
        latest.setdefault(conversation.lead_id, conversation)
    return [c for c in latest.values() if c.status == Status.RESOLVED]


# "@" and a username (Django's letters, digits and @.+-_, without the @), not inside a word or an address.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]+)")


def note_mentioned(*, body: str, agents) -> list:
    """The agents among `agents` whom `body` names as @username (case-insensitive; a full stop or hyphen after the
    name is the sentence's, not the name's), in the order first named."""
    by_name = {agent.get_username().casefold(): agent for agent in agents}
    found = {}
    for match in MENTION.finditer(body):
        name = match.group(1).casefold()
        agent = by_name.get(name) or by_name.get(name.rstrip(".-"))
        if agent is not None:
            found.setdefault(agent.pk, agent)
    return list(found.values())


def note_add(*, lead, author, body: str) -> Note:
    """A private note in the lead's thread: never sent. Each agent it @mentions (but its author) is told at once on
    their open pages and finds the conversation in their Mentions view until they open it."""
    body = body.strip()
    if not body:
        raise ConversationRefused(_("Write the note first."), code="empty")
    if len(body) > Note.MAX_LENGTH:
        raise ConversationRefused(
            _("A note is at most %(max)s characters (this one has %(length)s).")
            % {"max": Note.MAX_LENGTH, "length": len(body)},
            code="too_long",
        )
    mentioned = [agent for agent in note_mentioned(body=body, agents=_assignable()) if agent.pk != author.pk]
    with transaction.atomic():
        note = Note.objects.create(lead=lead, author=author, body=body)
        Mention.objects.bulk_create([Mention(note=note, user=agent, lead=lead) for agent in mentioned])
        event_record(
            type=Event.Type.NOTE_ADDED,
            lead_id=lead.pk,
            payload={
                "lead_id": str(lead.pk),
                "lead_name": lead.name,
                "note_id": str(note.pk),
                "author_id": author.pk,
                "author": _who(author),
                "mentioned": [agent.pk for agent in mentioned],
                "excerpt": body[:140],
            },
        )
    return note


def mentions_seen(*, lead_id, user) -> int:
    """The agent opened the lead's conversation: the mentions of them there are seen (their Mentions view and
    count, on each of their pages)."""
    seen = Mention.objects.filter(user=user, lead_id=lead_id, seen_at__isnull=True).update(seen_at=timezone.now())
    if seen:
        event_record(type=Event.Type.READ, lead_id=lead_id, payload={"lead_id": str(lead_id)}, user_ids=[user.pk])
    return seen
