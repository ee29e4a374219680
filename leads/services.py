from django.conf import settings
from django.db import IntegrityError, transaction
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
        event_lead_changed(lead=lead)
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
        event_lead_changed(lead=lead)
    return bool(changed)
