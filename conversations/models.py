import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from happycrm.crypto import EncryptedTextField


class Conversation(models.Model):
    """One episode of the team with a lead: opened by the lead's message (or an agent starting one), answered,
    resolved. A lead's message after it was resolved opens the next episode; a snoozed one wakes up by itself.
    At most one is current (open or snoozed) per lead: the database holds it (conversation_one_current)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("conversation", "Open")
        SNOOZED = "snoozed", pgettext_lazy("conversation", "Snoozed")
        RESOLVED = "resolved", pgettext_lazy("conversation", "Resolved")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.CASCADE,
        related_name="conversations",
        verbose_name=pgettext_lazy("field", "lead"),
        db_index=False,  # conversation_lead_idx leads with it
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
        verbose_name=pgettext_lazy("field", "assignee"),
    )
    channel = models.CharField(
        pgettext_lazy("field", "channel"),
        max_length=16,
        blank=True,
        help_text=_("The channel the team chose to write to the lead on in this episode (empty: the lead's own)."),
    )
    snoozed_until = models.DateTimeField(pgettext_lazy("field", "snoozed until"), null=True, blank=True)
    opened_at = models.DateTimeField(pgettext_lazy("field", "opened at"), default=timezone.now)
    first_response_at = models.DateTimeField(
        pgettext_lazy("field", "first response at"),
        null=True,
        blank=True,
        help_text=_("When an agent first answered in this episode."),
    )
    resolved_at = models.DateTimeField(pgettext_lazy("field", "resolved at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(fields=["lead"], condition=~Q(status="resolved"), name="conversation_one_current"),
            models.CheckConstraint(
                condition=Q(status="snoozed", snoozed_until__isnull=False)
                | (~Q(status="snoozed") & Q(snoozed_until__isnull=True)),
                name="conversation_snoozed_until",
            ),
            models.CheckConstraint(
                condition=Q(status="resolved", resolved_at__isnull=False)
                | (~Q(status="resolved") & Q(resolved_at__isnull=True)),
                name="conversation_resolved_at",
            ),
        ]
        indexes = [
            # A lead's episodes, the latest first.
            models.Index(fields=["lead", "-opened_at"], name="conversation_lead_idx"),
            # Mine / Unassigned and their counts: the current ones only, by assignee.
            models.Index(
                fields=["assignee", "status"], condition=~Q(status="resolved"), name="conversation_current_idx"
            ),
            # The snoozed ones, by when they wake up.
            models.Index(fields=["snoozed_until"], condition=Q(status="snoozed"), name="conversation_wake_idx"),
            # The dashboard's reports: the episodes opened, answered and resolved in its period.
            models.Index(fields=["opened_at"], name="conversation_opened_idx"),
            models.Index(
                fields=["first_response_at"],
                condition=Q(first_response_at__isnull=False),
                name="conversation_answered_idx",
            ),
            models.Index(fields=["resolved_at"], condition=Q(status="resolved"), name="conversation_resolved_idx"),
        ]

    def __str__(self):
        return f"{self.lead} · {self.get_status_display()}"


class Note(models.Model):
    """A private note an agent leaves in a lead's thread for the team: never sent to the lead. Its `@username`
    mentions notify those agents (`Mention`)."""

    MAX_LENGTH = 4000
    is_note = True  # the thread shows notes among the messages

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.CASCADE,
        related_name="notes",
        verbose_name=pgettext_lazy("field", "lead"),
        db_index=False,  # note_thread_idx leads with it
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("field", "author"),
    )
    body = EncryptedTextField(pgettext_lazy("field", "note"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("private note")
        verbose_name_plural = _("private notes")
        indexes = [models.Index(fields=["lead", "-created_at"], name="note_thread_idx")]

    def __str__(self):
        return self.body[:40]


class Mention(models.Model):
    """An agent named in a note; unseen until they open the lead's conversation (the inbox's Mentions view)."""

    note = models.ForeignKey(
        Note, on_delete=models.CASCADE, related_name="mentions", verbose_name=pgettext_lazy("field", "note")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mentions",
        verbose_name=pgettext_lazy("field", "agent"),
        db_index=False,  # mention_unseen_idx and the unique constraint lead with it
    )
    # The note's lead, kept here so the Mentions view and its count read this table alone.
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=pgettext_lazy("field", "lead"),
        db_index=False,
    )
    seen_at = models.DateTimeField(pgettext_lazy("field", "seen at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="mention_once_per_note")]
        indexes = [
            models.Index(fields=["user", "lead"], condition=Q(seen_at__isnull=True), name="mention_unseen_idx"),
            models.Index(fields=["lead"], name="mention_lead_idx"),
        ]

    def __str__(self):
        return f"@{self.user} · {self.note}"
