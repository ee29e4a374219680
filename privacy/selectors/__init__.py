"""What an erasure would remove, and whether a number was erased before."""

import hashlib
import hmac

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from campaigns.selectors import lead_recipients_count
from conversations.selectors import lead_conversation_counts
from happycrm.audit import audit_history_count
from leads.models import Lead
from messaging.models import Message
from messaging.selectors import lead_message_ids, lead_messaging_counts
from notifications.selectors import lead_events_count
from privacy.models import ErasureReceipt
from webhooks.selectors import lead_deliveries_count

# The kinds a receipt counts, in the order the confirmation page and the receipt list them.
KINDS = (
    "leads",
    "messages",
    "attachments",
    "files",
    "webhook_events",
    "provider_logs",
    "notification_events",
    "campaign_recipients",
    "conversations",
    "notes",
    "webhook_deliveries",
    "admin_history",
    "provider_messages",
)
# What each kind is and each provider outcome means, for the admin's receipts and the API's.
KIND_LABELS = {
    "leads": _("leads"),
    "messages": _("messages"),
    "attachments": _("attachments"),
    "files": _("stored files (local disk or S3)"),
    "webhook_events": _("raw webhook events"),
    "provider_logs": _("provider log entries"),
    "notification_events": _("notification events"),
    "conversations": _("conversations"),
    "notes": _("private notes"),
    "labels": _("labels"),  # put on the kept lead by a merge
    "campaign_recipients": _("campaign recipients"),
    "webhook_deliveries": _("outbound webhook deliveries (our copies)"),
    "admin_history": _("admin history entries"),
    "provider_messages": _("messages and their media at the provider"),
}
OUTCOME_LABELS = {
    "deleted": _("deleted"),
    "absent": _("not there (already gone)"),
    "failed": _("failed"),
    "unsupported": _("nothing kept"),
}


def phone_hmac(e164: str) -> str:
    return hmac.new(settings.ERASURE_HMAC_KEY.encode(), e164.encode(), hashlib.sha256).hexdigest()


def receipt_for_phone(*, e164: str) -> ErasureReceipt | None:
    """The latest erasure of this exact number, if it was erased before."""
    return ErasureReceipt.objects.filter(phone_hmac=phone_hmac(e164)).order_by("-erased_at").first()


def lead_erase_counts(*, lead: Lead) -> dict[str, int]:
    """What erasing `lead` removes, per kind (the confirmation page and a dry run)."""
    counts = {"leads": 1, **lead_messaging_counts(lead_id=lead.pk, e164=lead.phone)}
    counts["notification_events"] = lead_events_count(lead_id=lead.pk)
    counts["campaign_recipients"] = lead_recipients_count(lead_id=lead.pk)
    counts["webhook_deliveries"] = lead_deliveries_count(lead_id=lead.pk)
    counts.update(lead_conversation_counts(lead_id=lead.pk))
    message_ids = lead_message_ids(lead_id=lead.pk)
    counts["admin_history"] = audit_history_count(model=Lead, object_ids=[lead.pk]) + audit_history_count(
        model=Message, object_ids=message_ids
    )
    return {kind: counts.get(kind, 0) for kind in KINDS}


def leads_merge_preview(*, leads: list[Lead]) -> list[Lead]:
    """The leads of a merge page, in the order given, each with how many messages and conversations it holds."""
    counted = Lead.objects.filter(pk__in=[lead.pk for lead in leads]).select_related("stage")
    counted = counted.annotate(
        message_count=Count("messages", distinct=True), conversation_count=Count("conversations", distinct=True)
    )
    found = {lead.pk: lead for lead in counted}
    return [found[lead.pk] for lead in leads if lead.pk in found]
