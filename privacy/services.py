"""Erasure (the right to be forgotten): one path for the admin, the command and the API.

Each app removes its own rows through its own service, all in one transaction; the stored files and the
provider's copies, which no rollback could bring back, go after it commits. A file that cannot be removed then
is recorded and retried by a periodic task.

Merging two leads of one person (the admin, the inbox's lead panel) is built on it: each app moves its rows of the
other lead to the kept one through its own service, then the other is erased, its receipt naming the kept lead."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.services import lead_recipients_erase, recipients_move_to_lead
from conversations.services import conversations_move_to_lead, lead_conversations_erase, notes_move_to_lead
from happycrm.audit import audit_history_erase, audit_record, command_by
from happycrm.queue import enqueue_on_commit
from leads.models import Lead
from leads.services import lead_absorb, lead_labels_move
from leads.services import lead_erase as lead_row_erase
from messaging.backends.base import ProviderDeletion
from messaging.models import ErasedMessage, Message
from messaging.selectors import lead_message_ids
from messaging.services.erase import lead_messaging_erase, provider_messages_delete, stored_files_delete
from messaging.services.messages import lead_activity_refresh, messages_move_to_lead
from notifications.services import lead_events_erase
from webhooks.services import lead_deliveries_erase

from .models import ErasureJob, ErasureReceipt, PendingFileDeletion
from .selectors import KINDS, phone_hmac

logger = logging.getLogger(__name__)

ERASE_LEADS_TASK = "privacy.erase_leads"
PENDING_FILES_BATCH = 500


class LeadAlreadyGone(Exception):
    """The lead was erased (or deleted) by someone else meanwhile."""


class MergeRefused(Exception):
    """Two leads that cannot be merged as asked (the same lead twice), with the reason."""


@dataclass(frozen=True)
class Requester:
    """Who asks: the user the audit log names, their name on the receipt, and through what."""

    user: object
    name: str
    via: str

    @classmethod
    def admin(cls, user) -> "Requester":
        return cls(user=user, name=user.get_username(), via=ErasureReceipt.Via.ADMIN)

    @classmethod
    def api(cls, user) -> "Requester":
        """A request to the API, with the user's token or session."""
        return cls(user=user, name=user.get_username(), via=ErasureReceipt.Via.API)

    @classmethod
    def inbox(cls, user) -> "Requester":
        """An agent in the inbox (the lead panel's merge)."""
        return cls(user=user, name=user.get_username(), via=ErasureReceipt.Via.INBOX)

    @classmethod
    def command(cls, user) -> "Requester":
        """`user` is happycrm.audit.command_user(); the receipt names who ran the command."""
        return cls(user=user, name=command_by(), via=ErasureReceipt.Via.COMMAND)


def lead_erase(
    *, lead: Lead, requester: Requester, merged_into: Lead | None = None, moved: dict | None = None
) -> ErasureReceipt:
    """Remove everything kept about `lead` and record the receipt; LeadAlreadyGone when it is no longer there.

    For a merge (`merged_into`, what `moved` there), the receipt says so and has no phone HMAC: the person's data
    lives on in the kept lead. Its raw webhook events stay too: one not processed yet may hold a message of the lead
    that arrived meanwhile, which its retry stores for whichever lead the number then finds."""
    with transaction.atomic():
        locked = Lead.objects.select_for_update().filter(pk=lead.pk).first()
        if locked is None:
            raise LeadAlreadyGone(gettext("This lead was already erased."))
        message_ids = lead_message_ids(lead_id=locked.pk)
        counts = {
            "campaign_recipients": lead_recipients_erase(lead_id=locked.pk),
            "notification_events": lead_events_erase(lead_id=locked.pk),
            "webhook_deliveries": lead_deliveries_erase(lead_id=locked.pk),
            "admin_history": audit_history_erase(model=Lead, object_ids=[locked.pk])
            + audit_history_erase(model=Message, object_ids=message_ids),
        }
        counts.update(lead_conversations_erase(lead_id=locked.pk))
        messaging = lead_messaging_erase(lead_id=locked.pk, e164="" if merged_into else locked.phone)
        counts.update(messaging.counts)
        counts["leads"] = lead_row_erase(lead=locked)
        receipt = ErasureReceipt.objects.create(
            erased_by=requester.user,
            erased_by_name=requester.name[:150],
            via=requester.via,
            # a lead may have no phone; a merged one's person was not erased
            phone_hmac=phone_hmac(locked.phone) if locked.phone and merged_into is None else "",
            counts={kind: counts.get(kind, 0) for kind in KINDS},
            merged_into=merged_into.pk if merged_into else None,
            moved=moved or {},
        )
        if merged_into is None:
            message = gettext("Erased a lead and everything kept about it (receipt #%(id)s).") % {"id": receipt.pk}
        else:
            message = gettext("Merged a lead into another one (receipt #%(id)s).") % {"id": receipt.pk}
        if requester.via == ErasureReceipt.Via.COMMAND:
            message += " " + gettext("Run by %(name)s.") % {"name": requester.name}
        audit_record(user=requester.user, message=message, model=Lead, deleted=True)
        files, provider_messages = messaging.files, messaging.provider_messages
        transaction.on_commit(lambda: receipt_finish(receipt=receipt, files=files, provider_messages=provider_messages))
    return receipt


def leads_merge(*, keep: Lead, other: Lead, requester: Requester) -> ErasureReceipt:
    """Two leads of one person made one: `other`'s messages, conversations and places in campaigns move to `keep`
    (each app moving its own rows), `keep` takes what only `other` knew and its columns derived from the messages
    are recomputed, then `other` is erased with a receipt naming `keep` and what moved. One transaction: all of it
    or nothing. MergeRefused for the same lead twice, LeadAlreadyGone when either is gone.

    Both leads are locked first, in one order (the id's, as the message paths lock leads): a message arriving for
    `other` meanwhile either committed before (it is moved with the rest) or waits, finds `other` gone when it
    commits and fails; its stored webhook event is kept, and its retry stores it for the lead its number finds."""
    if keep.pk == other.pk:
        raise MergeRefused(gettext("A lead cannot be merged with itself: choose two different leads."))
    with transaction.atomic():
        locked = {
            lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=[keep.pk, other.pk]).order_by("pk")
        }
        if other.pk not in locked:
            raise LeadAlreadyGone(gettext("The lead to merge was erased or merged meanwhile."))
        if keep.pk not in locked:
            raise LeadAlreadyGone(gettext("The lead to keep was erased or merged meanwhile."))
        keep, other = locked[keep.pk], locked[other.pk]
        moving = {"from_lead_id": other.pk, "to_lead_id": keep.pk}
        moved = {
            "messages": messages_move_to_lead(**moving),
            "conversations": conversations_move_to_lead(**moving),
            "notes": notes_move_to_lead(**moving),
            "labels": lead_labels_move(**moving),
            "campaign_recipients": recipients_move_to_lead(**moving),
        }
        lead_absorb(keep=keep, other=other)
        lead_activity_refresh(lead=keep)
        receipt = lead_erase(lead=other, requester=requester, merged_into=keep, moved=moved)
        audit_record(
            user=requester.user,
            message=gettext("Another lead was merged into this one (receipt #%(id)s).") % {"id": receipt.pk},
            objects=[keep],
        )
    return receipt


def receipt_finish(*, receipt: ErasureReceipt, files: list[str], provider_messages: list[tuple[str, str]]) -> None:
    """After the rows are gone: the provider's copies (each outcome on the receipt) and the stored files (those
    that could not be removed are kept for the periodic retry)."""
    outcomes = provider_messages_delete(messages=provider_messages)
    receipt.provider_outcome = [
        {
            "sid_hash": ErasedMessage.hash_sid(outcome.sid)[:16],
            "outcome": outcome.outcome,
            "media_deleted": outcome.media_deleted,
            "error": outcome.error,
        }
        for outcome in outcomes
    ]
    receipt.save(update_fields=["provider_outcome"])
    failed = stored_files_delete(names=files)
    PendingFileDeletion.objects.bulk_create(
        [PendingFileDeletion(receipt=receipt, name=name, last_error=error) for name, error in failed.items()],
        ignore_conflicts=True,
    )


def provider_summary(receipt: ErasureReceipt) -> dict[str, int]:
    """How many of the receipt's messages each provider outcome had."""
    summary = dict.fromkeys(
        [ProviderDeletion.DELETED, ProviderDeletion.ABSENT, ProviderDeletion.FAILED, ProviderDeletion.UNSUPPORTED], 0
    )
    for item in receipt.provider_outcome:
        summary[item["outcome"]] = summary.get(item["outcome"], 0) + 1
    return {outcome: count for outcome, count in summary.items() if count}


def pending_file_deletions_retry() -> int:
    """Try again to remove the files an erasure could not; returns how many are gone now."""
    pending = list(PendingFileDeletion.objects.order_by("updated_at")[:PENDING_FILES_BATCH])
    if not pending:
        return 0
    failed = stored_files_delete(names=[item.name for item in pending])
    removed = [item.pk for item in pending if item.name not in failed]
    PendingFileDeletion.objects.filter(pk__in=removed).delete()
    for item in pending:
        if item.name in failed:
            item.attempts += 1
            item.last_error = failed[item.name]
            item.save(update_fields=["attempts", "last_error", "updated_at"])
    return len(removed)


def leads_erase_start(*, lead_ids, requester: Requester) -> ErasureJob:
    """Erase many leads in the background (the admin's bulk delete); the job shows its progress."""
    lead_ids = [str(pk) for pk in dict.fromkeys(lead_ids)]
    job = ErasureJob.objects.create(created_by=requester.user, lead_ids=lead_ids, total=len(lead_ids))
    enqueue_on_commit(ERASE_LEADS_TASK, job.pk)
    return job


def erasure_job_run(*, job_id, requester: Requester) -> ErasureJob:
    """Erase the job's leads one after another, each in its own transaction, counting as it goes; safe to run
    twice (an erased lead is counted as done)."""
    job = ErasureJob.objects.get(pk=job_id)
    if job.status == ErasureJob.Status.DONE:
        return job
    ErasureJob.objects.filter(pk=job.pk).update(status=ErasureJob.Status.RUNNING)
    done = failed = 0
    errors = []
    for lead_id in job.lead_ids:
        lead = Lead.objects.filter(pk=lead_id).first()
        try:
            if lead is not None:
                lead_erase(lead=lead, requester=requester)
            done += 1
        except LeadAlreadyGone:
            done += 1
        except Exception as exc:
            logger.exception("Erasing lead %s failed", lead_id)
            failed += 1
            errors.append(f"{lead_id}: {type(exc).__name__}: {exc}")
        ErasureJob.objects.filter(pk=job.pk).update(done=done, failed=failed, errors=errors)
    ErasureJob.objects.filter(pk=job.pk).update(status=ErasureJob.Status.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    return job
