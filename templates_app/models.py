import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from happycrm.validators import prohibit_null_characters_in_json


class Template(models.Model):
    """A message template: a WhatsApp content template synced from the provider (with a content SID) or a local one."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")

    class ApprovalStatus(models.TextChoices):
        UNSUBMITTED = "unsubmitted", _("Not submitted")
        RECEIVED = "received", _("Received")
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        PAUSED = "paused", _("Paused")
        DISABLED = "disabled", _("Disabled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    content = models.TextField(_("content"), help_text=_("Placeholders {{1}}, {{2}}, … are filled when sending."))
    content_sid = models.CharField(_("content SID"), max_length=34, unique=True, null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    language = models.CharField(_("language"), max_length=16, blank=True)
    variables = models.JSONField(
        _("variables"), default=dict, blank=True, validators=[prohibit_null_characters_in_json]
    )
    approval_status = models.CharField(
        _("WhatsApp approval"), max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.UNSUBMITTED
    )
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    category = models.CharField(_("category"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("template")
        verbose_name_plural = _("templates")

    def __str__(self):
        return self.name


SHORTCUT_PATTERN = r"^[\w-]{1,32}\Z"


class CannedReply(models.Model):
    """A reply agents send often, picked in the composer by its shortcut (`/fiyat`): shared (no owner, managed in
    the admin) or an agent's own. Its text may hold the templates' placeholders {{1}} (the lead's name), {{2}}
    (the event date) and {{3}} (the event time), filled from the lead when it is picked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    shortcut = models.CharField(
        pgettext_lazy("field", "shortcut"),
        max_length=32,
        validators=[RegexValidator(SHORTCUT_PATTERN, _("Letters, digits, - and _ only, at most 32."))],
        help_text=_("Typed after / in the composer, e.g. fiyat."),
    )
    text = models.TextField(
        pgettext_lazy("field", "text"), help_text=_("{{1}} the lead's name, {{2}} the event date, {{3}} its time.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_replies",
        verbose_name=pgettext_lazy("field", "owner"),
        help_text=_("Empty: shared by the whole team."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["shortcut"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        constraints = [
            models.UniqueConstraint(
                fields=["shortcut"], condition=models.Q(owner__isnull=True), name="canned_reply_shared_shortcut"
            ),
            models.UniqueConstraint(fields=["owner", "shortcut"], name="canned_reply_own_shortcut"),
        ]

    def __str__(self):
        return f"/{self.shortcut}"
