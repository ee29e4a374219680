from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from happycrm.timestamps import local_timestamp


class ErasureReceipt(models.Model):
    """That a person's data was erased: when, by whom, how much of each kind and what the provider said. It holds
    no personal data: the phone only as an HMAC under ERASURE_HMAC_KEY, so a repeated request is recognised.

    A merge of duplicates erases the lead it does not keep: its receipt names the kept lead (by id: the receipt
    outlives it) and what moved there, and has no phone HMAC (the person was not erased)."""

    class Via(models.TextChoices):
        ADMIN = "admin", _("Admin")
        COMMAND = "command", _("Command")
        API = "api", _("API")
        INBOX = "inbox", _("Inbox")

    erased_at = models.DateTimeField(_("erased at"), default=timezone.now, editable=False, db_index=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("erased by"),
    )
    erased_by_name = models.CharField(
        _("requested by"), max_length=150, blank=True, help_text=_("Who ran the command or used the admin.")
    )
    via = models.CharField(_("through"), max_length=16, choices=Via.choices)
    phone_hmac = models.CharField(_("phone HMAC"), max_length=64, db_index=True)
    counts = models.JSONField(_("removed"), default=dict, help_text=_("Rows and files removed, per kind."))
    provider_outcome = models.JSONField(
        _("at the provider"),
        default=list,
        blank=True,
        help_text=_("Each message's deletion at the messaging provider (by a hash of its ID)."),
    )
    merged_into = models.UUIDField(
        _("merged into lead"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("The lead this one was merged into (a duplicate): its data moved there."),
    )
    moved = models.JSONField(
        _("moved to the kept lead"), default=dict, blank=True, help_text=_("Rows moved by the merge, per kind.")
    )

    class Meta:
        ordering = ["-erased_at"]
        verbose_name = _("erasure receipt")
        verbose_name_plural = _("erasure receipts")
        permissions = [
            ("erase_lead", _("Can erase a lead and everything kept about it")),
            ("merge_lead", _("Can merge duplicate leads")),
        ]

    def __str__(self):
        return pgettext_lazy("receipt", "Erasure #%(id)s on %(when)s") % {
            "id": self.pk,
            "when": local_timestamp(self.erased_at),
        }


class PendingFileDeletion(models.Model):
    """A stored file of an erased lead that could not be removed after the erasure committed: retried
    periodically until it is gone."""

    receipt = models.ForeignKey(
        ErasureReceipt,
        on_delete=models.CASCADE,
        related_name="pending_files",
        verbose_name=pgettext_lazy("field", "receipt"),
    )
    name = models.CharField(_("stored file"), max_length=255, unique=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("file awaiting removal")
        verbose_name_plural = _("files awaiting removal")

    def __str__(self):
        return self.name


class ErasureJob(models.Model):
    """Many leads erased in the background (the admin's bulk delete): its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    lead_ids = models.JSONField(_("leads to erase"), default=list)
    total = models.PositiveIntegerField(_("number of leads"), default=0)
    done = models.PositiveIntegerField(_("erased"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("bulk erasure")
        verbose_name_plural = _("bulk erasures")

    def __str__(self):
        return pgettext_lazy("job", "Bulk erasure #%(id)s") % {"id": self.pk}
