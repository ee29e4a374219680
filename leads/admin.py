from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from happycrm.admin_site import related_rows_link
from happycrm.forms import ServiceCheckedForm

from .imports.admin import LeadImportExportMixin
from .models import Label, Lead, Stage
from .selectors import SearchTerms, SearchWord, lead_search_q, leads_with_duplicates_q
from .services import label_check, label_delete, label_save, lead_labels_set, lead_save, stage_delete, stage_save


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_default", "lead_count"]
    list_editable = ["position"]
    search_fields = ["name"]
    actions = ["delete_selected"]  # this admin's own, in place of the site's action of that name

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lead_count=Count("leads"))

    @admin.display(description=_("leads"), ordering="lead_count")
    def lead_count(self, obj):
        return obj.lead_count

    def has_delete_permission(self, request, obj=None):
        # The default stage is where new leads land; make another stage the default first.
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        stage_save(stage=obj)  # the API's rules and path

    def delete_model(self, request, obj):
        """Through stage_delete. A refusal (a lead arrived after the confirmation page) keeps the stage: the delete
        view's transaction is rolled back with its log line, and response_delete says why instead of "deleted"."""
        try:
            stage_delete(stage=obj)
        except ValidationError as exc:
            transaction.set_rollback(True)
            request.stage_kept = " ".join(exc.messages)

    def response_delete(self, request, obj_display, obj_id):
        kept = getattr(request, "stage_kept", None)
        if kept is None:
            return super().response_delete(request, obj_display, obj_id)
        self.message_user(request, kept, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:leads_stage_change", args=[obj_id]))

    @admin.action(permissions=["delete"], description=django_delete_selected.short_description)
    def delete_selected(self, request, queryset):
        """Django's bulk delete and its confirmation page; once confirmed, delete_queryset deletes and reports. Not
        Django's own last step: it would log and count every selected stage as deleted, the kept ones too."""
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        self.delete_queryset(request, queryset)
        return None

    def get_deleted_objects(self, objs, request):
        """For a bulk delete's confirmation page: a default stage among the selected is not a permission the user
        lacks (has_delete_permission keeps its own page without a delete button), which would refuse them all;
        stage_delete keeps it and says why. Stages with leads stay listed as protected, as on their own page."""
        deletable, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if super().has_delete_permission(request):
            perms_needed.discard(self.opts.verbose_name)
        return deletable, model_count, perms_needed, protected

    def delete_queryset(self, request, queryset):
        """Each stage through stage_delete, as a single delete and the API: the ones it refuses (the default, one
        with leads) are kept, each named with the reason; only the deleted ones are logged and counted."""
        deleted = 0
        for stage in queryset.order_by("position", "name"):
            try:
                with transaction.atomic():  # a refused stage's log line goes with it
                    self.log_deletions(request, [stage])
                    stage_delete(stage=stage)
            except ValidationError as exc:
                self.message_user(request, f"“{stage}”: {' '.join(exc.messages)}", messages.ERROR)
            else:
                deleted += 1
        if deleted:
            self.message_user(
                request,
                gettext("Successfully deleted %(count)d %(items)s.")
                % {"count": deleted, "items": model_ngettext(self.opts, deleted)},
                messages.SUCCESS,
            )


class LabelForm(ServiceCheckedForm):
    """A label's name and colour, checked by the service's rules."""

    class Meta:
        model = Label
        fields = ["name", "colour"]

    @staticmethod
    def service_check(instance):
        label_check(label=instance)


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    form = LabelForm
    list_display = ["label_chip", "colour", "lead_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lead_count=Count("leads"))

    @admin.display(description=_("name"), ordering="name")
    def label_chip(self, obj):
        return format_html('<span class="label-chip {}">{}</span>', obj.colour_class, obj.name)

    @admin.display(description=_("leads"), ordering="lead_count")
    def lead_count(self, obj):
        return format_html(
            '<a href="{}?labels__id__exact={}">{}</a>', reverse("admin:leads_lead_changelist"), obj.pk, obj.lead_count
        )

    def save_model(self, request, obj, form, change):
        label_save(label=obj)  # the API's rules and path

    def delete_model(self, request, obj):
        label_delete(label=obj)  # off its leads through their one path, as the API's delete

    def delete_queryset(self, request, queryset):
        for label in queryset:
            label_delete(label=label)


def lead_details_places(word: SearchWord) -> list[Q]:
    """The admin also finds a lead by its e-mail or location."""
    return [Q(email__icontains=word.text), Q(location__icontains=word.text)]


def date_and_time(date, time) -> str:
    """`06/10/2027 7:30 p.m.` (`10.06.2027 19:30` in Turkish), breaking only between the date and the time."""
    parts = [formats.date_format(date, "SHORT_DATE_FORMAT") if date else "", formats.time_format(time) if time else ""]
    return " ".join(part.replace(" ", "\N{NO-BREAK SPACE}") for part in parts if part) or "-"


class LikelyDuplicateFilter(admin.SimpleListFilter):
    """The leads another lead shares its last 10 digits or its name with, listed next to each other (see
    LeadAdmin.get_ordering), to be merged two at a time."""

    title = _("likely duplicates")
    parameter_name = "duplicates"
    ORDER = {"phone": ["phone_national", "-created_at"], "name": ["search_name", "-created_at"]}

    def lookups(self, request, model_admin):
        return [("phone", _("Same last 10 digits")), ("name", _("Same name"))]

    def queryset(self, request, queryset):
        if self.value() in self.ORDER:
            return queryset.filter(leads_with_duplicates_q(by=self.value()))
        return queryset


@admin.register(Lead)
class LeadAdmin(LeadImportExportMixin, admin.ModelAdmin):
    # Fits a 1366 px screen beside the admin's menu and the filters: short columns, dates in the short format;
    # "unregistered" and "first message answered" are filters only.
    list_display = ["name", "phone_display", "stage", "event", "unread", "last_message"]
    list_filter = [
        "stage",
        "labels",
        "is_unregistered",
        "first_message_answered",
        ("opted_out_at", admin.EmptyFieldListFilter),
        "event_date",
        LikelyDuplicateFilter,
    ]
    list_select_related = ["stage"]
    search_fields = ["name", "phone", "email", "location"]  # searched by get_search_results
    # Where a searched word may be beyond the name and phone. An app that holds more about leads adds its places
    # with `search_also` (messaging adds the messages' text), so leads imports none of them.
    search_places = (lead_details_places,)
    date_hierarchy = "created_at"
    # What messaging records about the lead is shown, never edited by hand (STOP and START set the opt-out).
    readonly_fields = [
        "phone_national",
        "last_message_at",
        "last_inbound_at",
        "unread_count",
        "opted_out_at",
        "is_unregistered",
        "first_message_answered",
        "conversation_link",
        "messages_link",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "phone", "email", "stage", "labels"]}),
        (_("Event"), {"fields": ["event_date", "event_time", "location"]}),
        (
            _("Messaging"),
            {
                "fields": [
                    "conversation_link",
                    "messages_link",
                    "unread_count",
                    "last_message_at",
                    "last_inbound_at",
                    "opted_out_at",
                    "is_unregistered",
                    "first_message_answered",
                ]
            },
        ),
        (_("Record"), {"fields": ["phone_national", "created_at", "updated_at"]}),
    ]

    @admin.display(description=_("phone"), ordering="phone")
    def phone_display(self, obj):
        return obj.phone_display.replace(" ", "\N{NO-BREAK SPACE}")

    @admin.display(description=pgettext_lazy("a lead's", "event"), ordering="event_date")
    def event(self, obj):
        return date_and_time(obj.event_date, obj.event_time)

    @admin.display(description=pgettext_lazy("short column title", "unread"), ordering="unread_count")
    def unread(self, obj):
        return obj.unread_count

    @admin.display(description=_("last message"), ordering="last_message_at")
    def last_message(self, obj):
        if obj.last_message_at is None:
            return "-"
        moment = timezone.localtime(obj.last_message_at)
        return date_and_time(moment.date(), moment.time())

    @admin.display(description=_("messages"))
    def messages_link(self, obj):
        return related_rows_link("admin:messaging_message_changelist", "lead", obj, _("View the conversation"))

    @admin.display(description=_("conversation"))
    def conversation_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("inbox:conversation", args=[obj.pk]), _("Open in the inbox"))

    def get_ordering(self, request):
        """The likely duplicates next to each other: by their shared last digits or name."""
        return LikelyDuplicateFilter.ORDER.get(
            request.GET.get(LikelyDuplicateFilter.parameter_name)
        ) or super().get_ordering(request)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # what other apps show of a lead (its messages) needs one

    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}

    def save_model(self, request, obj, form, change):
        lead_save(lead=obj)  # as the conversation's panel saves it: open screens follow the change

    def save_related(self, request, form, formsets, change):
        """The labels through the same service as the inbox's: the screens showing the lead follow."""
        labels = form.cleaned_data.pop("labels", None)
        super().save_related(request, form, formsets, change)
        if labels is not None:
            lead_labels_set(lead=form.instance, labels=labels)

    search_notes: tuple[Callable[[], str | None], ...] = ()

    @classmethod
    def search_also(cls, places: Callable[[SearchWord], list[Q]], note: Callable[[], str | None] | None = None) -> None:
        """Another place a searched word may be (a lead's messages), said by the app that holds it; `note` says
        under the search box when that place is not searched now."""
        if places not in cls.search_places:
            cls.search_places = (*cls.search_places, places)
        if note and note not in cls.search_notes:
            cls.search_notes = (*cls.search_notes, note)

    @property
    def search_help_text(self):
        return " ".join(str(text) for text in (note() for note in self.search_notes) if text) or None

    def get_search_results(self, request, queryset, search_term):
        """The inbox's search (a phone in any form; the name and messages folded: `ayse` finds `AYŞE`), and the
        e-mail or location: each word also where `search_places` look."""
        terms = SearchTerms.parse(search_term)
        if not terms:
            return queryset, False

        def elsewhere(word: SearchWord) -> list[Q]:
            return [q for places in self.search_places for q in places(word)]

        return queryset.filter(lead_search_q(terms=terms, more=elsewhere)), False
