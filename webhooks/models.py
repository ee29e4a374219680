"""Outbound webhooks: who wants to hear of what (Subscription), each request made to tell them (Delivery), and how
far the dispatcher has read the event feed (DispatchCursor)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from happycrm.crypto import EncryptedJSONField, EncryptedTextField


class WebhookEvent(models.TextChoices):
    """What a subscription may ask for: the names integrators see (our own terms, no provider's)."""

    MESSAGE_RECEIVED = "message.received", _("A lead's message received")
    MESSAGE_STATUS_CHANGED = "message.status_changed", _("A message's status changed")
    LEAD_CREATED = "lead.created", _("Lead created")
    LEAD_UPDATED = "lead.updated", _("Lead updated")
    CAMPAIGN_FINISHED = "campaign.finished", _("Campaign finished")


PING = "ping"  # a test delivery asked for by hand; nobody subscribes to it
DELIVERY_EVENTS = [*WebhookEvent.choices, (PING, _("Ping"))]


class Subscription(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(
        _("URL"), max_length=2000, help_text=_("Where the deliveries are POSTed; checked again before every one.")
    )
    # Signs every delivery; encrypted at rest with the message content's keys (MESSAGE_ENCRYPTION_KEYS).
    secret = EncryptedTextField(_("signing secret"), editable=False)
    events = models.JSONField(pgettext_lazy("field", "events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.TextField(_("why it was disabled"), blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    failure_count = models.PositiveIntegerField(
        _("failed deliveries in a row"), default=0, help_text=_("Reset by the next delivery that succeeds.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "created_at"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self):
        return self.name


class Delivery(models.Model):
    """One event told to one subscription: the payload as sent and the last answer, however many attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Retrying")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
        db_index=False,  # delivery_subscription_idx leads with it
    )
    event = models.CharField(pgettext_lazy("field", "event"), max_length=32, choices=DELIVERY_EVENTS)
    # The notifications event it reports (None for a ping): the same on a resend, so a receiver can tell.
    event_id = models.BigIntegerField(_("event number"), null=True, blank=True)
    # The lead it is about (its erasure removes the deliveries too); None for a campaign's or a ping.
    lead_id = models.UUIDField(pgettext_lazy("field", "lead"), null=True, blank=True, db_index=True)
    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    payload = EncryptedJSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When it is (or was) to be tried next; while an attempt runs, when a lost one may be taken over.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, default=timezone.now)
    response_status = models.PositiveSmallIntegerField(_("answer's status"), null=True, blank=True)
    response_body = EncryptedTextField(_("answer's body"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        # Every delivery is written three times (made, claimed, answered), each time into every index that covers
        # the columns it changes: few indexes, and partial ones where only some rows are looked for.
        indexes = [
            # A subscription's deliveries, newest first (the API's list, the admin's filter).
            models.Index(fields=["subscription", "-id"], name="delivery_subscription_idx"),
            # The retry sweep: only unfinished rows, by when they are due (the admin's pending and retrying ones).
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due_idx",
                condition=Q(status__in=["pending", "retrying"]),
            ),
            # The failed ones, newest first (the admin's and the API's status filter): the few worth a look.
            models.Index(fields=["-id"], name="delivery_failed_idx", condition=Q(status="failed")),
        ]

    def __str__(self):
        return f"{self.event} → {self.subscription_id} #{self.pk}"


class DispatchCursor(models.Model):
    """How far the dispatcher has turned the notifications events into deliveries (one row, locked while it
    runs, so two dispatchers never read the same events)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    position = models.BigIntegerField(_("last event read"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook dispatch cursor")
        verbose_name_plural = _("webhook dispatch cursors")

    def __str__(self):
        return f"#{self.position}"
