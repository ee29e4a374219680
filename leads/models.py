import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Right
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from happycrm.search import FoldedTextField, folded_update_fields

from .fields import PhoneNumberField
from .phones import FALLBACK_DIGITS, format_phone_for_display


class Stage(models.Model):
    """A step of the sales pipeline. Exactly one stage is the default, where new leads land."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_default = models.BooleanField(
        _("default stage"), default=False, help_text=_("New and automatically created leads land in this stage.")
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="stage_single_default"
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # Making this stage the default takes the flag from the previous one in the same transaction.
        with transaction.atomic():
            if self.is_default:
                Stage.objects.filter(is_default=True).exclude(pk=self.pk).update(is_default=False)
            super().save(*args, **kwargs)

    def get_constraints(self):
        # Forms validate constraints before save(); the single-default one would refuse making another stage
        # the default, which save() does by taking the flag over. The database still enforces it.
        return [
            (model, [c for c in constraints if c.name != "stage_single_default"])
            for model, constraints in super().get_constraints()
        ]

    def clean(self):
        if not self.is_default and self.pk and Stage.objects.filter(pk=self.pk, is_default=True).exists():
            raise ValidationError(
                {"is_default": _("There must be a default stage: make another stage the default instead.")}
            )


class LabelColour(models.TextChoices):
    """A label's colours: light backgrounds that keep dark text readable."""

    GREY = "#e5e7eb", _("Grey")
    RED = "#fecaca", _("Red")
    ORANGE = "#fed7aa", _("Orange")
    YELLOW = "#fef08a", _("Yellow")
    GREEN = "#bbf7d0", _("Green")
    TEAL = "#99f6e4", _("Teal")
    BLUE = "#bfdbfe", _("Blue")
    PURPLE = "#e9d5ff", _("Purple")
    PINK = "#fbcfe8", _("Pink")


class Label(models.Model):
    """A tag the team puts on leads ("VIP", "Wedding", "Called back"): shown on the conversation and in the list,
    a filter of the inbox and a campaign's audience."""

    Colour = LabelColour

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=50)
    # Folded (happycrm.search.fold): "VIP", "vip" and "Düğün"/"DUGUN" are one label, on SQLite as on PostgreSQL.
    name_key = FoldedTextField(pgettext_lazy("field", "name for comparison"), source="name")
    colour = models.CharField(
        pgettext_lazy("field", "colour"), max_length=7, choices=Colour.choices, default=Colour.GREY
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        constraints = [
            # The database refuses a second label of one name whatever the forms checked (two saves at once).
            models.UniqueConstraint(fields=["name_key"], name="label_name_unique"),
            models.CheckConstraint(condition=models.Q(colour__in=LabelColour.values), name="label_colour_valid"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, update_fields=None, **kwargs):
        super().save(*args, update_fields=folded_update_fields(Label, update_fields), **kwargs)

    @property
    def colour_class(self) -> str:
        """The style sheets' class for its colour (pages allow no inline styles)."""
        return f"label-{LabelColour(self.colour).name.lower()}"


def default_stage_id():
    stage = Stage.objects.filter(is_default=True).only("pk").first()
    return stage.pk if stage else None


class Lead(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    # Folded for search; a trigram index on PostgreSQL (migration lead_search_name), outside the model state.
    search_name = FoldedTextField(_("name for search"), source="name")
    phone = PhoneNumberField(
        _("phone"), unique=True, help_text=_("Stored in international (E.164) form, e.g. +905551234567.")
    )
    phone_national = models.GeneratedField(
        expression=Right("phone", FALLBACK_DIGITS),
        output_field=models.CharField(max_length=FALLBACK_DIGITS, null=True),
        db_persist=True,
        db_index=True,
        verbose_name=_("last 10 digits"),
    )
    email = models.EmailField(_("email"), blank=True)
    stage = models.ForeignKey(
        Stage,
        on_delete=models.PROTECT,
        related_name="leads",
        default=default_stage_id,
        verbose_name=pgettext_lazy("field", "stage"),
    )
    event_date = models.DateField(_("event date"), null=True, blank=True)
    event_time = models.TimeField(_("event time"), null=True, blank=True)
    location = models.CharField(_("location"), max_length=255, blank=True)
    is_unregistered = models.BooleanField(
        _("unregistered"), default=False, help_text=_("Created automatically from a message by an unknown number.")
    )
    first_message_answered = models.BooleanField(_("first message answered"), default=False)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True, editable=False)
    last_inbound_at = models.DateTimeField(
        _("last inbound message at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Opens WhatsApp's 24-hour window for free-form replies."),
    )
    unread_count = models.PositiveIntegerField(_("unread messages"), default=0, editable=False)
    labels = models.ManyToManyField(
        Label, blank=True, related_name="leads", verbose_name=pgettext_lazy("field", "labels")
    )
    opted_out_at = models.DateTimeField(
        _("opted out at"), null=True, blank=True, help_text=_("Set when the lead sends STOP; cleared by START.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["-last_message_at"], name="lead_last_message_idx"),
            # The API's list order (newest first, the id breaking ties): a page is read from the index, never a sort
            # of every lead (bench/api_leads.py).
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            # The unread ones, in the same order: counting them reads this small index, not every lead.
            models.Index(
                fields=["-created_at", "-id"], condition=models.Q(unread_count__gt=0), name="lead_unread_created_idx"
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, update_fields=None, **kwargs):
        super().save(*args, update_fields=folded_update_fields(Lead, update_fields), **kwargs)

    @property
    def phone_display(self) -> str:
        return format_phone_for_display(self.phone) if self.phone else ""


class LeadImport(models.Model):
    """One uploaded lead file: checked first (the dry run), imported when confirmed. The file waits in the default
    storage only while the import needs it."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked: waiting for confirmation")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.CharField(_("stored file"), max_length=255, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.CHECKING)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows done"), default=0)
    # Rows per outcome ({"created": n, "updated": n, "unchanged": n, "refused": n}) and the rows' outcomes (the
    # first REPORT_ROWS rows and every refusal up to a limit): what the dry run and the import found.
    counts = models.JSONField(_("rows per outcome"), default=dict, blank=True)
    report = models.JSONField(_("report"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # When its check or its import was last handed to a worker: one waiting far longer was lost by the broker.
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")

    def __str__(self):
        return self.file_name
