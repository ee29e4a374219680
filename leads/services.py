from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone, translation
from django.utils.translation import gettext

from notifications.services import event_lead_changed

from .models import Lead, Stage
from .selectors import PhoneMatch, lead_find_by_phone

NAME_MAX_LENGTH = Lead._meta.get_field("name").max_length


class NoDefaultStageError(Exception):
    """New leads have nowhere to go until a stage is made the default."""


def lead_get_or_create_for_phone(*, e164: str, profile_name: str = "") -> tuple[PhoneMatch, bool]:
    """Find the lead writing from `e164`, or create it as an unregistered lead in the default stage.

    Two first messages from one new number at once create one lead: the unique phone
    decides, and the loser of the race reads the winner's row.
    """
    match = lead_find_by_phone(e164=e164)
    if match.lead is not None:
        return match, False
    stage = Stage.objects.filter(is_default=True).first()
    if stage is None:
        raise NoDefaultStageError("No default stage for new leads: make a stage the default in the admin.")
    name = profile_name.strip()[:NAME_MAX_LENGTH]
    if not name:
        # In the site's language, not the language of whoever's request this runs in; the phone is shown
        # beside the name everywhere, so the name does not repeat it.
        with translation.override(settings.LANGUAGE_CODE):
            name = gettext("New lead")
    try:
        with transaction.atomic():
            lead = Lead.objects.create(
                name=name, phone=e164, stage=stage, is_unregistered=True, first_message_answered=False
            )
    except IntegrityError:
        return PhoneMatch(lead=Lead.objects.get(phone=e164), candidates=1), False
    return PhoneMatch(lead=lead, candidates=0), True


def lead_save(*, lead: Lead) -> Lead:
    """Save a lead a person edited (the conversation's side panel, the admin): every screen showing it hears of it."""
    with transaction.atomic():
        lead.save()
        event_lead_changed(lead_id=lead.pk, lead_name=lead.name)
    return lead


def lead_set_opted_out(*, lead: Lead, opted_out: bool) -> bool:
    """STOP marks a lead opted out (kept at its first time), START clears it; returns whether anything changed."""
    leads = Lead.objects.filter(pk=lead.pk)
    if opted_out:
        now = timezone.now()
        changed = leads.filter(opted_out_at__isnull=True).update(opted_out_at=now, updated_at=now)
    else:
        changed = leads.filter(opted_out_at__isnull=False).update(opted_out_at=None, updated_at=timezone.now())
    if changed:
        lead.refresh_from_db(fields=["opted_out_at"])
        event_lead_changed(lead_id=lead.pk, lead_name=lead.name)
    return bool(changed)


# A lead's message-derived columns, written here for the messaging services (which report what happened).
def lead_record_inbound(*, lead_id, at) -> None:
    """A message from the lead arrived at `at`: one more unread, and its last times move forward (never back)."""
    received = Value(at)
    Lead.objects.filter(pk=lead_id).update(
        unread_count=F("unread_count") + 1,
        last_inbound_at=Greatest(Coalesce("last_inbound_at", received), received),
        last_message_at=Greatest(Coalesce("last_message_at", received), received),
        updated_at=timezone.now(),
    )


def leads_record_outbound(*, latest: dict) -> None:
    """We wrote to leads (lead id → our newest message's time): their conversations move up, never back."""
    if not latest:
        return
    newest = Case(*(When(pk=lead_id, then=Value(at)) for lead_id, at in latest.items()))
    # Greatest with the row's own value: a lead's message committed meanwhile is never moved back.
    Lead.objects.filter(pk__in=latest).update(last_message_at=Greatest(Coalesce("last_message_at", newest), newest))


def lead_mark_answered(*, lead_id) -> None:
    """The lead, who wrote to us, got our first answer."""
    Lead.objects.filter(pk=lead_id, first_message_answered=False, last_inbound_at__isnull=False).update(
        first_message_answered=True
    )


def leads_unread_decrease(*, counts: dict) -> None:
    """Messages of these leads were read (lead id → how many)."""
    for lead_id, count in counts.items():
        Lead.objects.filter(pk=lead_id).update(unread_count=F("unread_count") - count)


def lead_activity_set(*, lead: Lead, last_message_at, last_inbound_at, unread_count: int) -> Lead:
    """Set the message-derived columns to what the messages say (after loading demo data, say)."""
    lead.last_message_at, lead.last_inbound_at, lead.unread_count = last_message_at, last_inbound_at, unread_count
    lead.save(update_fields=["last_message_at", "last_inbound_at", "unread_count", "updated_at"])
    return lead
