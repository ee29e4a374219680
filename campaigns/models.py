import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Campaign(models.Model):
    """A template sent to many leads (the spec's template campaign): each lead once, however often it runs."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        CANCELED = "canceled", _("Canceled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    template = models.ForeignKey(
        "templates_app.Template",
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=pgettext_lazy("field", "template"),
    )
    parameters = models.JSONField(
        _("extra values"), default=list, blank=True, help_text=_("Values for {{4}}, {{5}}, … in order.")
    )
    start_at = models.DateTimeField(_("start at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    run_completed_at = models.DateTimeField(
        _("all queued at"),
        null=True,
        blank=True,
        help_text=_("When every recipient had a message queued or was skipped: no more are made after."),
    )
    finished_at = models.DateTimeField(
        _("finished at"),
        null=True,
        blank=True,
        help_text=_(
            "When every recipient's outcome was final (delivered, read, failed, skipped or canceled), or the wait for "
            "the delivery reports still missing was over."
        ),
    )

    class Meta:
        db_table = "messaging_campaign"  # the table it had in messaging, kept when it moved here
        ordering = ["-created_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self):
        return self.name


class CampaignRecipient(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        QUEUED = "queued", _("Queued")
        SKIPPED_OPTED_OUT = "skipped_opted_out", _("Skipped: opted out")
        SKIPPED_NO_PHONE = "skipped_no_phone", _("Skipped: no phone")
        SKIPPED_REFUSED = "skipped_refused", _("Skipped: cannot be sent")
        CANCELED = "canceled", _("Canceled")

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="recipients", verbose_name=pgettext_lazy("field", "campaign")
    )
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="+", verbose_name=pgettext_lazy("field", "lead")
    )
    message = models.OneToOneField(
        "messaging.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaign_recipient",
        verbose_name=pgettext_lazy("field", "message"),
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, default=Outcome.PENDING)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        db_table = "messaging_campaignrecipient"  # as the campaign's: the table it had in messaging
        ordering = ["id"]
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [models.UniqueConstraint(fields=["campaign", "lead"], name="campaign_lead_once")]
        indexes = [models.Index(fields=["campaign", "outcome"], name="campaign_outcome_idx")]

    def __str__(self):
        return f"{self.campaign} → {self.lead}"
