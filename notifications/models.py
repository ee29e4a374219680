from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from happycrm.crypto import EncryptedJSONField


class Event(models.Model):
    """Something an agent's screen should learn about; the ascending id is the cursor clients resume from."""

    class Type(models.TextChoices):
        NEW_MESSAGE = "new_message", _("New message")
        STATUS_UPDATE = "status_update", _("Status update")
        READ = "read", _("Messages read")
        MESSAGE_SENT = "message_sent", _("Message sent")
        LEAD_CHANGED = "lead_changed", _("Lead changed")
        CAMPAIGN_FINISHED = "campaign_finished", _("Campaign finished")
        LEAD_CREATED = "lead_created", _("Lead created")
        CONVERSATION_CHANGED = "conversation_changed", _("Conversation changed")
        NOTE_ADDED = "note_added", _("Private note added")

    id = models.BigAutoField(_("number"), primary_key=True)
    type = models.CharField(_("type"), max_length=32, choices=Type.choices)
    # Empty for an event about no one lead (a campaign finished).
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("field", "lead"),
    )
    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        verbose_name=pgettext_lazy("field", "message"),
    )
    payload = EncryptedJSONField(_("payload"), default=dict)
    # The ids of the users this event is for (an assignee's notification); empty: every agent.
    user_ids = models.JSONField(_("for users"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self):
        return f"{self.get_type_display()} #{self.pk}"

    def is_for(self, user_id) -> bool:
        return not self.user_ids or user_id in self.user_ids


class PruneMark(models.Model):
    """How far retention has pruned the events (one row): a cursor below `pruned_through` has lost events after it,
    so a client resuming from it is told so (410) instead of silently missing them."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    pruned_through = models.BigIntegerField(_("pruned through event"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("event prune mark")
        verbose_name_plural = _("event prune marks")

    def __str__(self):
        return f"#{self.pruned_through}"
