import hashlib
import secrets
import uuid
from functools import cached_property
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from happycrm.crypto import EncryptedFileField, EncryptedJSONField, EncryptedTextField
from happycrm.search import FoldedTextField, folded_update_fields
from happycrm.timestamps import local_timestamp

from .content import content_view
from .media_types import GENERIC, display_kind, download_name, extension_for


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", _("WhatsApp")
    SMS = "sms", _("SMS")


class MessageStatus(models.TextChoices):
    """Where a message stands; each provider's parser maps its own statuses onto these."""

    ACCEPTED = "accepted", _("Accepted")
    SCHEDULED = "scheduled", _("Scheduled")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    PARTIALLY_DELIVERED = "partially_delivered", _("Partially delivered")
    UNDELIVERED = "undelivered", _("Undelivered")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")
    RECEIVING = "receiving", _("Receiving")
    RECEIVED = "received", _("Received")


class OptChange(models.TextChoices):
    """What a lead's message did to their consent to be messaged."""

    NONE = "", _("Nothing")
    OUT = "out", _("Opted out")
    IN = "in", _("Opted in")


class Message(models.Model):
    is_note = False  # the thread shows the team's notes among the messages

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by message_thread_idx (lead, newest first), which serves every lookup by lead: an index of its own
    # would be one more written by every insert and by every status change.
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=pgettext_lazy("field", "lead"),
        db_index=False,
    )
    body = EncryptedTextField(_("body"), blank=True)
    # Folded for search; a trigram index on PostgreSQL (migration message_search_body), outside the model state.
    search_body = FoldedTextField(_("body for search"), source="body")
    media_url = models.CharField(
        _("media URL"), max_length=2000, blank=True, help_text=_("Where the app serves the first attachment.")
    )
    media_content_type = models.CharField(_("media type"), max_length=128, blank=True)
    # NULL until the provider names it (NULLs never collide); unique through Meta's constraint: unique=True would add
    # a LIKE index on PostgreSQL that nothing reads and every send and status change writes to.
    twilio_message_sid = models.CharField(_("Twilio message SID"), max_length=64, null=True, blank=True)  # noqa: DJ001
    provider = models.CharField(
        _("provider"),
        max_length=32,
        blank=True,
        help_text=_("The messaging provider that carried it (empty: the default one)."),
    )
    is_from_lead = models.BooleanField(_("from lead"), default=False)
    is_read = models.BooleanField(_("read"), default=False)
    is_starred = models.BooleanField(_("starred"), default=False)
    is_notification_sent = models.BooleanField(_("notification sent"), default=False)
    status = models.CharField(_("status"), max_length=24, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.WHATSAPP)
    metadata = EncryptedJSONField(
        _("details"),
        default=dict,
        blank=True,
        help_text=_(
            "What else the provider told about the message: profile name, button, location, reply, ad referral."
        ),
    )
    # Apart from `metadata` (the provider's own words, kept as evidence): what the thread shows, in our terms, so
    # no page reads the provider's names. Empty (and not encrypted) for a plain text, which most messages are.
    content = EncryptedJSONField(
        _("content"),
        default=dict,
        blank=True,
        help_text=_(
            "What the message carries beyond its text: a location, the option chosen, the message it quotes, "
            "the ad that started the conversation, why it opted the lead out or in."
        ),
    )
    # Not encrypted (it says no more than the lead's opted_out_at): the latest of a lead's is found by its index.
    opt_change = models.CharField(
        _("opt-out or opt-in"),
        max_length=3,
        choices=OptChange.choices,
        blank=True,
        default=OptChange.NONE,
        help_text=_("Set when the message opted the lead out or in; its content says why."),
    )
    template = models.ForeignKey(
        "templates_app.Template",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=pgettext_lazy("field", "template"),
    )
    template_name = models.CharField(_("template name"), max_length=200, blank=True)
    content_variables = EncryptedJSONField(
        _("template variables"), default=dict, blank=True, help_text=_("Sent with the approved content template.")
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    bulk = models.BooleanField(
        _("sent in bulk"),
        default=False,
        help_text=_("One of many messages sent at once: they wait on a queue of their own, behind agents' replies."),
    )
    send_claimed_at = models.DateTimeField(
        _("handed to Twilio at"),
        null=True,
        blank=True,
        help_text=_("Set by the one worker that calls Twilio for this message; a second attempt sees it and stops."),
    )
    needs_attention = models.BooleanField(
        _("needs attention"),
        default=False,
        help_text=_("Twilio's answer never came: check in Twilio's console before sending again."),
    )
    handed_off_at = models.DateTimeField(
        _("queued for a worker at"),
        null=True,
        blank=True,
        help_text=_("When the task queue last accepted this send; empty while it has not (the queue was down)."),
    )
    handoff_expected_by = models.DateTimeField(
        _("worker expected by"),
        null=True,
        blank=True,
        help_text=_(
            "By when a worker should have taken it, from the sender's rate and the messages ahead of it; "
            "the periodic sweep queues it again after that."
        ),
    )
    handoff_attempts = models.PositiveSmallIntegerField(_("times queued"), default=0)
    handoff_error = models.TextField(_("queueing error"), blank=True)
    error_code = models.PositiveIntegerField(_("error code"), null=True, blank=True)
    error_message = EncryptedTextField(_("error message"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    starred_at = models.DateTimeField(_("starred at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.CheckConstraint(condition=models.Q(channel__in=Channel.values), name="message_channel_valid"),
            models.CheckConstraint(condition=models.Q(status__in=MessageStatus.values), name="message_status_valid"),
            models.UniqueConstraint(fields=["twilio_message_sid"], name="message_sid_unique"),
        ]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="message_thread_idx"),
            models.Index(
                fields=["lead"], condition=models.Q(is_from_lead=True, is_read=False), name="message_unread_idx"
            ),
            # The inbox's starred flag per lead: without it PostgreSQL scans every message for it on a long page.
            models.Index(fields=["lead"], condition=models.Q(is_starred=True), name="message_starred_idx"),
            # A lead's latest opt-out or opt-in (why a send is refused): a few rows, written by those messages only.
            models.Index(
                fields=["lead", "-created_at"], condition=~models.Q(opt_change=""), name="message_opt_change_idx"
            ),
            # Sends waiting for a worker: the sweep's overdue check and the queue-ahead count read only these.
            models.Index(
                fields=["handoff_expected_by"],
                condition=models.Q(is_from_lead=False, status="queued", send_claimed_at__isnull=True),
                name="message_awaiting_worker_idx",
            ),
            # The dashboard's days, directions and statuses of a month, read from the index alone.
            models.Index(fields=["created_at", "is_from_lead", "status"], name="message_created_idx"),
            # The dashboard's failures by error code: only the failed sends, a few in a hundred.
            models.Index(
                fields=["created_at", "provider", "error_code"],
                condition=models.Q(is_from_lead=False, status__in=["failed", "undelivered"]),
                name="message_failed_idx",
            ),
            # Campaigns' progress joins their recipients to these (bulk) messages: statuses from the index alone.
            models.Index(
                fields=["id", "status", "needs_attention", "twilio_message_sid"],
                condition=models.Q(bulk=True),
                name="message_bulk_outcome_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {local_timestamp(self.created_at)} {self.body[:40]}"

    def save(self, *args, update_fields=None, **kwargs):
        super().save(*args, update_fields=folded_update_fields(Message, update_fields), **kwargs)

    @property
    def attachments(self) -> list["MessageMedia"]:
        """Its media in order: the list a query prefetched (`selectors.ATTACHMENTS`), or read now."""
        prefetched = self.__dict__.get(ATTACHMENTS_ATTR)
        return prefetched if prefetched is not None else list(self.media.all())

    @property
    def quoted_message(self) -> "Message | None":
        """The message this one quotes, when we have it: the one a page read for all its messages
        (`selectors.quotes_attach`), or read now."""
        sid = (self.content or {}).get("quoted_sid")
        if not sid:
            return None
        if QUOTED_ATTR not in self.__dict__:
            self.__dict__[QUOTED_ATTR] = quoted_messages(lead_sids={(self.lead_id, sid)}).get((self.lead_id, sid))
        return self.__dict__[QUOTED_ATTR]

    @cached_property
    def rich(self) -> dict:
        """What the bubble (and the API) shows beyond the text: messaging.content.content_view."""
        return content_view(
            content=self.content,
            channel=self.channel,
            attachments=self.attachments,
            quoted=self.quoted_message,
            opt_change=self.opt_change,
        )


# Where selectors.quotes_attach puts the message a message quotes (None: not one we have).
QUOTED_ATTR = "prefetched_quote"
QUOTE_FIELDS = ("lead_id", "twilio_message_sid", "body", "content", "media_content_type", "is_from_lead", "created_at")


def quoted_messages(*, lead_sids: set[tuple]) -> dict[tuple, Message]:
    """The stored messages with these (lead, SID) pairs, by pair: one query. A quote is looked for in its own
    lead's thread only, never shown from another lead's."""
    if not lead_sids:
        return {}
    found = Message.objects.filter(
        lead_id__in={lead_id for lead_id, _sid in lead_sids}, twilio_message_sid__in={sid for _lead, sid in lead_sids}
    ).only(*QUOTE_FIELDS)
    return {(m.lead_id, m.twilio_message_sid): m for m in found if (m.lead_id, m.twilio_message_sid) in lead_sids}


# Where selectors.ATTACHMENTS puts a message's media: a plain list. Prefetching into the related manager's cache
# (prefetch_related("media")) builds a filtered queryset for every message; for a page of 50 that was a fifth of
# the API's time.
ATTACHMENTS_ATTR = "prefetched_attachments"


PUBLIC_MEDIA_SALT = "messaging.public-media"
PUBLIC_MEDIA_MAX_AGE = 7 * 24 * 3600  # providers fetch at once; a week covers retries and scheduled sends


def media_upload_to(instance: "MessageMedia", filename: str) -> str:
    """A key nobody can guess or enumerate: the media's own UUID plus a random part. The extension follows the
    sniffed content type, not the sender's file name, so a storage that guesses types from names agrees."""
    suffix = extension_for(instance.content_type) if instance.content_type else Path(filename).suffix.lower()[:10]
    return f"messages/{timezone.now():%Y/%m}/{instance.pk.hex}-{secrets.token_hex(8)}{suffix}"


class MessageMedia(models.Model):
    """One attachment of a message, copied into our storage."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        STORED = "stored", _("Stored")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="media", verbose_name=pgettext_lazy("field", "message")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    source_url = models.URLField(_("source URL"), max_length=2000, blank=True)
    content_type = models.CharField(_("content type"), max_length=128, blank=True)
    file = EncryptedFileField(_("file"), upload_to=media_upload_to, max_length=255, blank=True)
    contacts = EncryptedJSONField(
        _("contacts"),
        default=list,
        blank=True,
        help_text=_("The contacts a vCard holds (name and numbers), read from the file when it was stored."),
    )
    size = models.PositiveIntegerField(_("size in bytes"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["message", "position"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="message_media_unique_position"),
        ]

    def __str__(self):
        return f"{self.content_type or _('attachment')} #{self.position}"

    def get_absolute_url(self):
        return reverse("messaging:media", args=[self.pk])

    @property
    def display_kind(self) -> str:
        """How pages show it: inline as "image", "audio" or "video", else "file" (a download), as the views serve it."""
        return display_kind(self.content_type) if self.status == self.Status.STORED else "file"

    @property
    def download_name(self) -> str:
        return download_name(self.pk.hex[:8], self.content_type or GENERIC)

    def public_path(self) -> str:
        """A signed, expiring path the provider can GET and HEAD without a login (for attachments we send)."""
        return reverse("messaging:public-media", args=[signing.dumps(str(self.pk), salt=PUBLIC_MEDIA_SALT)])


class WebhookEvent(models.Model):
    """A provider's webhook request exactly as received, stored before anything is done with it."""

    class Kind(models.TextChoices):
        INBOUND = "inbound", _("Inbound message")
        STATUS = "status", _("Status callback")

    class Outcome(models.TextChoices):
        PENDING = "", _("Not processed yet")
        STORED = "stored", _("Message stored")
        DUPLICATE = "duplicate", _("Duplicate of a stored message")
        STATUS_APPLIED = "status_applied", _("Status applied")
        STATUS_STALE = "status_stale", _("Status older than the message's")
        UNMATCHED = "unmatched", _("No message with this SID (yet)")
        REJECTED = "rejected", _("Cannot be processed")

    MAX_ATTEMPTS = 10  # after that an unprocessed event counts as failed and only a re-run by hand retries it

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.CharField(
        _("provider"), max_length=32, help_text=_("The messaging provider that received it; its parser reads it.")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    payload = EncryptedJSONField(_("payload"), help_text=_("The fields as the provider posted them."))
    original_fields = EncryptedJSONField(
        _("original fields"),
        default=dict,
        blank=True,
        help_text=_(
            "Fields that held a NUL character (which the database cannot store), percent-encoded exactly as "
            "received; the payload holds them with that character replaced by U+FFFD."
        ),
    )
    message_sid = models.CharField(_("message SID"), max_length=64, blank=True)
    # The parties in E.164, read from the payload when it is stored (empty when it names none or an unreadable
    # one): erasure finds a person's events by exactly their number, never by parsing payloads then.
    sender = models.CharField(_("sender"), max_length=16, blank=True)
    recipient = models.CharField(pgettext_lazy("field", "recipient"), max_length=16, blank=True)
    idempotency_token = models.CharField(_("idempotency token"), max_length=128, blank=True)
    request_id = models.CharField(
        _("request id"),
        max_length=64,
        blank=True,
        help_text=_("The id of the request that brought it: the log lines of its processing carry it too."),
    )
    signature_valid = models.BooleanField(
        _("signature valid"), null=True, help_text=_("Empty when signature validation is switched off.")
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = EncryptedTextField(_("last error"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True, default="")
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [
            # Equality only (never LIKE): in Meta, as db_index=True would add a second, pattern index on PostgreSQL
            # that every stored and every processed event writes to as well.
            models.Index(fields=["message_sid"], name="webhook_sid_idx"),
            models.Index(fields=["sender"], name="webhook_sender_idx"),
            models.Index(fields=["recipient"], name="webhook_recipient_idx"),
            models.Index(
                fields=["received_at"], condition=models.Q(processed_at__isnull=True), name="webhook_unprocessed_idx"
            ),
            # Retention deletes processed events oldest first; the dashboard counts the rejected ones of a week.
            models.Index(
                fields=["received_at"], condition=models.Q(processed_at__isnull=False), name="webhook_processed_idx"
            ),
            models.Index(fields=["received_at"], condition=models.Q(outcome="rejected"), name="webhook_rejected_idx"),
        ]

    def __str__(self):
        return f"{self.message_sid or self.pk} @ {local_timestamp(self.received_at, seconds=True)}"


class ProviderLog(models.Model):
    """One HTTP exchange with a messaging provider (RapidPro's HTTPLog), secrets redacted before it is stored.

    Written by messaging.backends.httplog only; read in the admin; pruned after RETENTION_PROVIDER_LOGS_DAYS."""

    class Kind(models.TextChoices):
        SEND = "send", _("Message send")
        MEDIA_DOWNLOAD = "media_download", _("Media download")
        TEMPLATE_PAGE = "template_page", _("Template catalogue page")
        ERASE = "erase", _("Erasure")

    MAX_BODY_LENGTH = 10_000  # characters of a request or response body kept
    MAX_URL_LENGTH = 2000

    provider = models.CharField(_("provider"), max_length=32)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    method = models.CharField(_("method"), max_length=8)
    url = models.CharField(_("URL"), max_length=MAX_URL_LENGTH)
    status_code = models.PositiveSmallIntegerField(
        _("HTTP status"), null=True, blank=True, help_text=_("Empty when the provider gave no answer.")
    )
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    error = EncryptedTextField(_("error"), blank=True)
    request_body = EncryptedTextField(_("request body"), blank=True)
    response_body = EncryptedTextField(_("response body"), blank=True)
    message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_logs",
        verbose_name=pgettext_lazy("field", "message"),
    )
    template = models.ForeignKey(
        "templates_app.Template",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_logs",
        verbose_name=pgettext_lazy("field", "template"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("provider exchange")
        verbose_name_plural = _("provider exchanges")

    def __str__(self):
        return f"{self.method} {self.url} @ {local_timestamp(self.created_at, seconds=True)}"


class ErasedMessage(models.Model):
    """The tombstone of an erased message: the hash of its provider SID, so a callback or a retried webhook that
    arrives for it later is dropped instead of stored (with the phone in its payload) or replayed."""

    sid_hash = models.CharField(_("SID hash"), max_length=64, unique=True)
    erased_at = models.DateTimeField(_("erased at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("erased message")
        verbose_name_plural = _("erased messages")

    def __str__(self):
        return self.sid_hash[:12]

    @staticmethod
    def hash_sid(sid: str) -> str:
        return hashlib.sha256(sid.encode()).hexdigest()
