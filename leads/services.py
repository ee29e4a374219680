from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, ProtectedError, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from happycrm.search import fold
from notifications.models import Event
from notifications.services import event_lead_changed, events_record

from .models import Label, Lead, Stage
from .phones import fallback_digits
from .selectors import PhoneMatch, leads_find_by_phones, unnamed_lead_name

NAME_MAX_LENGTH = Lead._meta.get_field("name").max_length


class NoDefaultStageError(Exception):
    """New leads have nowhere to go until a stage is made the default."""


def lead_get_or_create_for_phone(*, e164: str, profile_name: str = "") -> tuple[PhoneMatch, bool]:
    """Find the lead writing from `e164`, or create it as an unregistered lead in the default stage."""
    match = leads_get_or_create_for_phones(phones={e164: profile_name})[e164]
    return match, match.lead is not None and match.candidates == 0


def leads_get_or_create_for_phones(*, phones: dict[str, str]) -> dict[str, PhoneMatch]:
    """The lead writing from each number (E.164 → the sender's profile name, in arrival order), the missing ones
    created together as unregistered leads in the default stage; a created lead's match has no candidates.

    As if the numbers came one after another: a second new number with the same last 10 digits finds the lead the
    first one made. Two workers bringing one new number at once create one lead: the unique phone decides, and
    the loser reads the winner's row.
    """
    matches = leads_find_by_phones(e164s=phones)
    firsts = {}  # last 10 digits → the first new number with them
    for e164 in phones:
        if matches[e164].lead is None:
            firsts.setdefault(fallback_digits(e164), e164)
    if not firsts:
        return matches
    stage = Stage.objects.filter(is_default=True).first()
    if stage is None:
        raise NoDefaultStageError("No default stage for new leads: make a stage the default in the admin.")
    unnamed = unnamed_lead_name()  # the phone is shown beside the name everywhere, so the name does not repeat it
    new = {
        e164: Lead(
            name=phones[e164].strip()[:NAME_MAX_LENGTH] or unnamed,
            phone=e164,
            stage=stage,
            is_unregistered=True,
            first_message_answered=False,
        )
        for e164 in sorted(firsts.values())  # one order for every worker: concurrent inserts wait, never deadlock
    }
    Lead.objects.bulk_create(new.values(), ignore_conflicts=True)
    created = []
    for lead in Lead.objects.filter(phone__in=new):
        matches[lead.phone] = PhoneMatch(lead=lead, candidates=0 if lead.pk == new[lead.phone].pk else 1)
        if lead.pk == new[lead.phone].pk:
            created.append(lead)
    if created:  # the leads this call made, not those another worker made meanwhile: one insert for the batch
        events_leads_created(leads=created)
    for e164 in phones:
        if matches[e164].lead is None:
            matches[e164] = PhoneMatch(lead=matches[firsts[fallback_digits(e164)]].lead, candidates=1)
    return matches


class DuplicatePhone(Exception):
    """Another lead already has this number: one person, one lead."""

    def __init__(self, existing: Lead):
        super().__init__(gettext("Another lead already has this phone number."))
        self.existing = existing


def events_leads_created(*, leads: Iterable[Lead]) -> None:
    """New leads, in one insert: what the outbound webhooks report as lead.created (no screen shows a lead before
    its first message)."""
    events_record(
        type=Event.Type.LEAD_CREATED,
        items=((lead.pk, None, {"lead_id": str(lead.pk), "lead_name": lead.name}) for lead in leads),
    )


def lead_save(*, lead: Lead) -> Lead:
    """Save a lead a person made or edited (the conversation's side panel, the admin, the API): every screen showing
    it hears of the change, and a new one is recorded as created. A number another lead has is DuplicatePhone,
    naming that lead: the unique phone decides, so two requests bringing one new number at once make one lead (the
    forms' own check comes before, for their message)."""
    adding = lead._state.adding
    with transaction.atomic():
        try:
            with transaction.atomic():
                lead.save()
        except IntegrityError:
            existing = Lead.objects.filter(phone=lead.phone).exclude(pk=lead.pk).first() if lead.phone else None
            if existing is None:
                raise
            raise DuplicatePhone(existing) from None
        if adding:
            events_leads_created(leads=[lead])
        else:
            event_lead_changed(lead_id=lead.pk, lead_name=lead.name)
    return lead


def stage_save(*, stage: Stage) -> Stage:
    """Save a stage made or edited in the admin or through the API, checked by the model's rules first (a unique
    name, a default kept); making it the default takes the flag from the previous one (Stage.save)."""
    stage.full_clean()
    stage.save()
    return stage


STAGE_IS_DEFAULT = gettext_lazy("The default stage cannot be deleted: make another stage the default first.")
STAGE_HAS_LEADS = gettext_lazy("This stage still has leads: move them to another stage first.")


def stage_delete(*, stage: Stage) -> None:
    """Delete a stage no lead is in; never the default, where new leads land. ValidationError (code `default_stage`
    or `stage_in_use`) says why not."""
    if stage.is_default:
        raise ValidationError(STAGE_IS_DEFAULT, code="default_stage")
    try:
        with transaction.atomic():
            stage.delete()
    except ProtectedError:
        raise ValidationError(STAGE_HAS_LEADS, code="stage_in_use") from None


LABEL_TAKEN = gettext_lazy("A label with this name exists already.")


def label_check(*, label: Label) -> None:
    """ValidationError (per field) unless the label can be saved: a name no other label has, whatever its case and
    accents ("vip" is "VIP"), one of the colours."""
    label.name = " ".join(label.name.split())
    errors = {}
    try:
        label.full_clean(exclude=["name_key"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors = exc.message_dict
    if "name" not in errors and Label.objects.filter(name_key=fold(label.name)).exclude(pk=label.pk).exists():
        errors["name"] = [ValidationError(LABEL_TAKEN, code="duplicate")]
    if errors:
        raise ValidationError(errors)


def label_save(*, label: Label) -> Label:
    """Save a label made or edited (the admin, the API), checked first; the unique index decides between two saves
    of one name at once."""
    label_check(label=label)
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise ValidationError({"name": [ValidationError(LABEL_TAKEN, code="duplicate")]}) from None
    return label


def label_delete(*, label: Label) -> None:
    """Delete a label (the admin, the API): taken off its leads first, through the one path that changes leads'
    labels, so the screens showing them and a sync by `updated_since` see it go."""
    with transaction.atomic():
        leads_labels_change(lead_ids=Lead.objects.filter(labels=label).values_list("pk", flat=True), remove=[label])
        label.delete()


def leads_labels_change(*, lead_ids: Iterable, add: Iterable[Label] = (), remove: Iterable[Label] = ()) -> int:
    """Put `add` on the leads and take `remove` off them (the conversation's panel: one lead; the inbox's ticked
    rows: many), in a few statements whatever their number; each lead that changed is announced, so the list and
    its open conversation show it. Returns how many leads changed."""
    lead_ids, add, remove = set(lead_ids), {label.pk for label in add}, {label.pk for label in remove}
    Through = Lead.labels.through
    with transaction.atomic():
        # Locked in one order, as every batch of the message paths does: two changes of one lead never deadlock.
        leads = list(Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk").only("pk", "name"))
        ids = [lead.pk for lead in leads]
        changed = set()
        if drop := remove - add:
            removed = Through.objects.filter(lead_id__in=ids, label_id__in=drop)
            changed |= set(removed.values_list("lead_id", flat=True))
            removed.delete()
        if add:
            present = set(Through.objects.filter(lead_id__in=ids, label_id__in=add).values_list("lead_id", "label_id"))
            rows = [Through(lead_id=i, label_id=label) for i in ids for label in add if (i, label) not in present]
            Through.objects.bulk_create(rows, ignore_conflicts=True)
            changed |= {row.lead_id for row in rows}
        if changed:
            now = timezone.now()
            Lead.objects.filter(pk__in=changed).update(updated_at=now)
            events_record(
                type=Event.Type.LEAD_CHANGED,
                items=(
                    (lead.pk, None, {"lead_id": str(lead.pk), "lead_name": lead.name})
                    for lead in leads
                    if lead.pk in changed
                ),
            )
    return len(changed)


def lead_labels_set(*, lead: Lead, labels: Iterable[Label]) -> bool:
    """The lead's labels become exactly `labels` (the API's list); whether that changed anything. Read under the
    lead's lock, so a change made meanwhile by someone else is not undone unseen."""
    labels = set(labels)
    with transaction.atomic():
        Lead.objects.select_for_update().filter(pk=lead.pk).only("pk").first()
        current = set(Label.objects.filter(leads=lead))
        return bool(leads_labels_change(lead_ids=[lead.pk], add=labels - current, remove=current - labels))


def lead_labels_move(*, from_lead_id, to_lead_id) -> int:
    """A merge of two leads: the kept one has the other's labels too; how many labels the other had."""
    Through = Lead.labels.through
    labels = set(Through.objects.filter(lead_id=from_lead_id).values_list("label_id", flat=True))
    Through.objects.bulk_create(
        [Through(lead_id=to_lead_id, label_id=label) for label in labels], ignore_conflicts=True
    )
    Through.objects.filter(lead_id=from_lead_id).delete()
    return len(labels)


IMPORT_BATCH_SIZE = 1000


def leads_save_imported(*, new: list[Lead], changed: list[Lead], fields: list[str]) -> None:
    """Leads read from a file: the new ones created (their phones made E.164 by the field, as every save does), the
    `fields` of the changed ones saved, in batches; the screens showing a changed lead hear of it. A new lead's phone
    must be free: one that is taken (by another lead, or another new one) fails the whole write, so the caller's
    transaction keeps nothing of it rather than two leads for one number."""
    if "phone" in fields:
        raise ValueError("An imported row finds its lead by the phone; it never changes it.")
    with transaction.atomic():
        Lead.objects.bulk_create(new, batch_size=IMPORT_BATCH_SIZE)
        if new:
            events_leads_created(leads=new)
        if changed and fields:
            for lead in changed:
                lead.search_name = fold(lead.name)  # bulk_update skips the folded copy's pre_save
                lead.updated_at = timezone.now()
            update = [*fields, "search_name", "updated_at"] if "name" in fields else [*fields, "updated_at"]
            Lead.objects.bulk_update(changed, update, batch_size=IMPORT_BATCH_SIZE)
            events_record(
                type=Event.Type.LEAD_CHANGED,
                items=((lead.pk, None, {"lead_id": str(lead.pk), "lead_name": lead.name}) for lead in changed),
            )


def lead_set_opted_out(*, lead: Lead, opted_out: bool) -> bool:
    """STOP marks a lead opted out (kept at its first time), START clears it; returns whether anything changed."""
    changed = leads_set_opted_out(lead_ids=[lead.pk], opted_out=opted_out)
    if changed:
        lead.refresh_from_db(fields=["opted_out_at"])
    return bool(changed)


def leads_set_opted_out(*, lead_ids: Iterable, opted_out: bool) -> set:
    """Mark leads opted out (each kept at its first time) or clear it; returns the ids that changed, whose screens
    hear of it."""
    with transaction.atomic(savepoint=False):
        leads = Lead.objects.select_for_update().filter(pk__in=set(lead_ids), opted_out_at__isnull=opted_out)
        changing = dict(leads.order_by("pk").values_list("pk", "name"))
        if not changing:
            return set()
        now = timezone.now()
        Lead.objects.filter(pk__in=changing).update(opted_out_at=now if opted_out else None, updated_at=now)
        for lead_id, name in changing.items():
            event_lead_changed(lead_id=lead_id, lead_name=name)
    return set(changing)


# A lead's message-derived columns, written here for the messaging services (which report what happened).
def leads_record_inbound(*, received: dict) -> None:
    """Messages from leads arrived (lead id → (how many, the newest one's time)): that many more unread, and the
    last times move forward (never back). The rows are locked in one order first, so two workers' batches wait for
    each other rather than deadlock; then one statement."""
    if not received:
        return
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        list(Lead.objects.select_for_update().filter(pk__in=received).order_by("pk").values_list("pk", flat=True))
        if connection.vendor == "postgresql":
            _leads_record_inbound_postgresql(received=received, now=now)
            return
        added = Case(*(When(pk=pk, then=Value(count)) for pk, (count, _) in received.items()), default=Value(0))
        newest = Case(*(When(pk=pk, then=Value(at)) for pk, (_, at) in received.items()))
        Lead.objects.filter(pk__in=received).update(
            unread_count=F("unread_count") + added,
            last_inbound_at=Greatest(Coalesce("last_inbound_at", newest), newest),
            last_message_at=Greatest(Coalesce("last_message_at", newest), newest),
            updated_at=now,
        )


def _leads_record_inbound_postgresql(*, received: dict, now) -> None:
    """The same update joined to the batch's values as arrays: a CASE per lead costs the worker more to build
    (in Python) than the database takes to run it. GREATEST skips NULLs."""
    columns = {
        key: connection.ops.quote_name(Lead._meta.get_field(name).column) for key, name in LEAD_INBOUND_COLUMNS.items()
    }
    sql = (  # noqa: S608 -- names from the model, values as parameters
        "UPDATE {table} AS lead SET {unread} = lead.{unread} + batch.count, "
        "{inbound} = GREATEST(lead.{inbound}, batch.at), {last} = GREATEST(lead.{last}, batch.at), {updated} = %s "
        "FROM unnest(%s::uuid[], %s::integer[], %s::timestamptz[]) AS batch(id, count, at) "
        "WHERE lead.{id} = batch.id"
    ).format(table=connection.ops.quote_name(Lead._meta.db_table), **columns)
    pks = list(received)
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, pks, [received[pk][0] for pk in pks], [received[pk][1] for pk in pks]])


LEAD_INBOUND_COLUMNS = {
    "id": "id",
    "unread": "unread_count",
    "inbound": "last_inbound_at",
    "last": "last_message_at",
    "updated": "updated_at",
}


def leads_record_outbound(*, latest: dict) -> None:
    """We wrote to leads (lead id → our newest message's time): their conversations move up, never back."""
    if not latest:
        return
    newest = Case(*(When(pk=lead_id, then=Value(at)) for lead_id, at in latest.items()))
    # Greatest with the row's own value: a lead's message committed meanwhile is never moved back.
    Lead.objects.filter(pk__in=latest).update(last_message_at=Greatest(Coalesce("last_message_at", newest), newest))


def lead_mark_answered(*, lead: Lead) -> None:
    """The lead, who wrote to us, got our first answer. No query when the lead as read has nothing to mark (one
    who never wrote, a campaign's usual recipient, or one already answered)."""
    if lead.first_message_answered or lead.last_inbound_at is None:
        return
    Lead.objects.filter(pk=lead.pk, first_message_answered=False, last_inbound_at__isnull=False).update(
        first_message_answered=True
    )
    lead.first_message_answered = True


def leads_unread_decrease(*, counts: dict) -> None:
    """Messages of these leads were read (lead id → how many). The count never goes below zero, even where it had
    fallen behind the messages (a row written by hand, an import): reading them must not fail."""
    for lead_id, count in counts.items():
        Lead.objects.filter(pk=lead_id).update(unread_count=Greatest(F("unread_count") - count, Value(0)))


def leads_unread_increase(*, counts: dict) -> None:
    """Messages of these leads were marked unread again (lead id → how many)."""
    for lead_id, count in counts.items():
        Lead.objects.filter(pk=lead_id).update(unread_count=F("unread_count") + count)


def lead_activity_set(*, lead: Lead, last_message_at, last_inbound_at, unread_count: int) -> Lead:
    """Set the message-derived columns to what the messages say (after loading demo data, say)."""
    lead.last_message_at, lead.last_inbound_at, lead.unread_count = last_message_at, last_inbound_at, unread_count
    lead.save(update_fields=["last_message_at", "last_inbound_at", "unread_count", "updated_at"])
    return lead


# What a merge's kept lead takes from the other where it has nothing of its own.
MERGE_FILLS = ("email", "event_date", "event_time", "location")


def lead_absorb(*, keep: Lead, other: Lead) -> Lead:
    """A merge of two leads of one person (the caller moves the other apps' rows and erases `other`): the kept lead
    takes what only the other knew (an e-mail, the event's date, time and place), is opted out if either was (at
    the earlier time), registered if either was, answered if either was; its name, phone and stage stay. Every
    screen showing it hears of the change."""
    fields = [name for name in MERGE_FILLS if not getattr(keep, name) and getattr(other, name)]
    for name in fields:
        setattr(keep, name, getattr(other, name))
    opted_out = [at for at in (keep.opted_out_at, other.opted_out_at) if at is not None]
    if opted_out and keep.opted_out_at != min(opted_out):
        keep.opted_out_at = min(opted_out)
        fields.append("opted_out_at")
    if keep.is_unregistered and not other.is_unregistered:
        keep.is_unregistered = False
        fields.append("is_unregistered")
    if other.first_message_answered and not keep.first_message_answered:
        keep.first_message_answered = True
        fields.append("first_message_answered")
    keep.save(update_fields=[*fields, "updated_at"])
    event_lead_changed(lead_id=keep.pk, lead_name=keep.name)
    return keep


def lead_erase(*, lead: Lead) -> int:
    """Delete the lead's own row, for its erasure: the apps that hold more about it removed theirs first."""
    deleted, _ = Lead.objects.filter(pk=lead.pk).delete()
    return deleted
