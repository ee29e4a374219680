from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.forms.formsets import INITIAL_FORM_COUNT, TOTAL_FORM_COUNT, ManagementForm
from django.forms.models import BaseInlineFormSet
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.permissions import CHANGE_MESSAGE, REPROCESS_WEBHOOK_EVENTS, SEND_MESSAGE, has_perms
from happycrm.admin_site import ReadOnlyAdminMixin, related_rows_link
from happycrm.audit import audit_record
from leads.admin import LeadAdmin
from leads.selectors import SearchTerms

from .models import Message, MessageMedia, ProviderLog, WebhookEvent
from .selectors import (
    handoff_states,
    lead_message_places,
    message_error_explanation,
    message_text_searchable,
    messages_search_q,
)
from .services.messages import messages_mark_read, messages_set_starred
from .services.outbound import SendRefused, message_resend
from .services.webhooks import webhook_events_reprocess


def message_search_note():
    """What the search boxes say while message text cannot be searched (MESSAGE_ENCRYPTION_KEYS)."""
    if message_text_searchable():
        return None
    return _("Message text is encrypted and is not searched.")


# The lead list also finds a lead by a word in its messages, as the inbox does: said here, as leads knows nothing
# of messages.
LeadAdmin.search_also(lead_message_places, note=message_search_note)


def messages_audit(request, message: str, message_ids) -> None:
    """One admin-log line on the message list naming the messages by id: a message's own line would carry its text
    (its repr), which the log must not keep."""
    ids = ", ".join(map(str, message_ids))
    audit_record(user=request.user, message=message % {"ids": ids}, model=Message)


class MessageMediaInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MessageMedia
    extra = 0
    can_delete = False
    fields = ["position", "content_type", "status", "size", "attempts", "error", "link"]
    readonly_fields = fields

    @admin.display(description=_("file"))
    def link(self, obj):
        if obj.status != MessageMedia.Status.STORED:
            return "-"
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("Open"))


LEAD_PAGE_MESSAGES = 20  # the newest messages a lead's admin page shows; the conversation has all of them


class LatestMessagesFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # Read once: the formset takes each row by its index, which on a sliced queryset is a query per row.
        if not hasattr(self, "_latest"):
            self._latest = list(super().get_queryset()[:LEAD_PAGE_MESSAGES])
        return self._latest

    @cached_property
    def management_form(self):
        """Read-only rows save nothing: a lead's form posted without them (by a script) is no error."""
        total, initial = f"{self.prefix}-{TOTAL_FORM_COUNT}", f"{self.prefix}-{INITIAL_FORM_COUNT}"
        if self.is_bound and total not in self.data:
            form = ManagementForm({total: 0, initial: 0}, auto_id=self.auto_id, prefix=self.prefix)
            form.full_clean()
            return form
        return super().management_form


class LeadMessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A lead's newest messages on its admin page, as they stand: status, what an error means, attachments."""

    model = Message
    formset = LatestMessagesFormSet
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("latest messages")
    fields = ["created_at", "direction", "channel", "text", "delivery", "attachments"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("media")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("direction"))
    def direction(self, obj):
        return _("Inbound") if obj.is_from_lead else _("Outbound")

    @admin.display(description=_("body"))
    def text(self, obj):
        return Truncator(obj.body).chars(200) or (obj.template_name and f"[{obj.template_name}]") or "-"

    @admin.display(description=_("status"))
    def delivery(self, obj):
        explanation = message_error_explanation(obj)
        if not explanation:
            return obj.get_status_display()
        return format_html("{}<br><small>{}</small>", obj.get_status_display(), explanation)

    @admin.display(description=_("attachments"))
    def attachments(self, obj):
        items = list(obj.media.all())
        if not items:
            return "-"
        return format_html_join(
            "",
            "<div>{}</div>",
            (
                (
                    format_html('<a href="{}">{}</a> {}', item.get_absolute_url(), _("Open"), item.content_type)
                    if item.status == MessageMedia.Status.STORED
                    else f"{item.content_type or _('attachment')}: {item.get_status_display()}",
                )
                for item in items
            ),
        )


# The lead's page shows its conversation: said here, as leads knows nothing of messages.
LeadAdmin.inlines = [*LeadAdmin.inlines, LeadMessageInline]


class HandoffFilter(admin.SimpleListFilter):
    """Where a send stands between our database and a worker (the sweep queues the first and last again)."""

    title = _("task queue")
    parameter_name = "handoff"

    def lookups(self, request, model_admin):
        return [
            ("not_handed_off", _("Not accepted by the task queue")),
            ("in_queue", _("Waiting for a worker")),
            ("overdue", _("Overdue for a worker")),
        ]

    def queryset(self, request, queryset):
        states = handoff_states()
        return queryset.filter(states[self.value()]) if self.value() in states else queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Messages are written by sending and receiving, never by hand: the provider's fields are read-only."""

    list_display = [
        "created_at",
        "lead",
        "direction",
        "channel",
        "status",
        "short_body",
        "template_name",
        "error_code",
        "needs_attention",
        "is_read",
        "is_starred",
    ]
    list_filter = [
        "channel",
        "status",
        "needs_attention",
        HandoffFilter,
        "is_from_lead",
        "is_read",
        "is_starred",
        "created_at",
    ]
    list_select_related = ["lead"]
    search_fields = ["body", "twilio_message_sid", "lead__name", "lead__phone"]  # searched by get_search_results

    @property
    def search_help_text(self):
        return message_search_note()

    date_hierarchy = "created_at"
    raw_id_fields = ["lead", "template"]
    actions = ["mark_read", "star", "unstar", "resend"]
    inlines = [MessageMediaInline]
    readonly_fields = [
        "lead",
        "body",
        "media_url",
        "media_content_type",
        "twilio_message_sid",
        "provider",
        "is_from_lead",
        "channel",
        "status",
        "opt_change",
        "template",
        "template_name",
        "error_code",
        "error_message",
        "is_read",
        "read_at",
        "is_starred",
        "starred_at",
        "is_notification_sent",
        "sent_by",
        "bulk",
        "send_claimed_at",
        "needs_attention",
        "handed_off_at",
        "handoff_expected_by",
        "handoff_attempts",
        "handoff_error",
        "details",
        "error_explanation",
        "provider_log_link",
        "created_at",
        "updated_at",
    ]
    exclude = ["metadata", "content", "content_variables"]

    def get_search_results(self, request, queryset, search_term):
        """The inbox's search: the text and the lead's name folded (`ayse` finds `AYŞE`), a phone in any form, a SID."""
        terms = SearchTerms.parse(search_term)
        if not terms:
            return queryset, False
        return queryset.filter(messages_search_q(terms=terms)), False

    @admin.display(description=_("details"))
    def details(self, obj):
        """What the provider said beyond the text: the WhatsApp profile, a button, a location, a reply, an ad."""
        if not obj.metadata:
            return "-"
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", sorted(obj.metadata.items())))

    @admin.display(description=_("what the error means"))
    def error_explanation(self, obj):
        return message_error_explanation(obj) or "-"

    @admin.display(description=_("provider exchanges"))
    def provider_log_link(self, obj):
        return related_rows_link(
            "admin:messaging_providerlog_changelist",
            "message",
            obj,
            _("The exchanges with the provider for this message"),
        )

    @admin.display(description=_("direction"), boolean=False, ordering="is_from_lead")
    def direction(self, obj):
        return _("Inbound") if obj.is_from_lead else _("Outbound")

    @admin.display(description=_("body"))
    def short_body(self, obj):
        return Truncator(obj.body).chars(60)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # The actions need what the same operation needs on the pages and in the API.
    def has_change_message_permission(self, request):
        return has_perms(request.user, CHANGE_MESSAGE)

    def has_send_permission(self, request):
        return has_perms(request.user, SEND_MESSAGE)

    @admin.action(description=_("Mark selected messages as read"), permissions=["change_message"])
    def mark_read(self, request, queryset):
        ids = list(queryset.filter(is_read=False).values_list("pk", flat=True))
        changed = messages_mark_read(queryset=queryset)
        if changed:
            messages_audit(request, _("Messages marked as read: %(ids)s"), ids)
        self.message_user(
            request, ngettext("%d message marked as read.", "%d messages marked as read.", changed) % changed
        )

    @admin.action(description=_("Send selected failed messages again"), permissions=["send"])
    def resend(self, request, queryset):
        sent = []
        for message in queryset.select_related("lead"):
            try:
                message_resend(message=message)
            except SendRefused as exc:
                self.message_user(request, f"{message}: {exc.message}", messages.ERROR)
            else:
                sent.append(message.pk)
        if sent:
            messages_audit(request, _("Messages queued again: %(ids)s"), sent)
            sent = len(sent)
            self.message_user(request, ngettext("%d message queued again.", "%d messages queued again.", sent) % sent)

    @admin.action(description=_("Star selected messages"), permissions=["change_message"])
    def star(self, request, queryset):
        ids = list(queryset.filter(is_starred=False).values_list("pk", flat=True))
        if changed := messages_set_starred(queryset=queryset, starred=True):
            messages_audit(request, _("Messages starred: %(ids)s"), ids)
        self.message_user(request, ngettext("%d message starred.", "%d messages starred.", changed) % changed)

    @admin.action(description=_("Unstar selected messages"), permissions=["change_message"])
    def unstar(self, request, queryset):
        ids = list(queryset.filter(is_starred=True).values_list("pk", flat=True))
        if changed := messages_set_starred(queryset=queryset, starred=False):
            messages_audit(request, _("Messages unstarred: %(ids)s"), ids)
        self.message_user(request, ngettext("%d message unstarred.", "%d messages unstarred.", changed) % changed)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The raw record of what a provider sent: kept as evidence, never edited."""

    list_display = [
        "received_at",
        "provider",
        "kind",
        "message_sid",
        "outcome",
        "signature_valid",
        "processed_at",
        "attempts",
        "short_error",
    ]
    list_filter = [
        "provider",
        "kind",
        "outcome",
        ("processed_at", admin.EmptyFieldListFilter),
        "signature_valid",
        "received_at",
    ]
    search_fields = ["message_sid", "request_id"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    readonly_fields = [
        "provider",
        "kind",
        "message_sid",
        "payload",
        "original_fields",
        "signature_valid",
        "idempotency_token",
        "request_id",
        "received_at",
        "processed_at",
        "attempts",
        "outcome",
        "notes",
        "last_error",
    ]

    @admin.action(description=_("Reprocess selected events"), permissions=["reprocess"])
    def reprocess(self, request, queryset):
        events = list(queryset)
        counts = webhook_events_reprocess(event_ids=[event.pk for event in events], retry_rejected=True)
        summary = _("%(processed)d processed, %(rejected)d rejected, %(failed)d failed.") % {
            "processed": counts["processed"],
            "rejected": counts["rejected"],
            "failed": counts["failed"],
        }
        audit_record(user=request.user, message=_("Reprocessed: %(summary)s") % {"summary": summary}, objects=events)
        self.message_user(
            request,
            summary,
            messages.WARNING if counts["failed"] or counts["rejected"] else messages.SUCCESS,
        )

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return Truncator(obj.last_error).chars(80)

    def has_reprocess_permission(self, request):
        return has_perms(request.user, REPROCESS_WEBHOOK_EVENTS)


@admin.register(ProviderLog)
class ProviderLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each HTTP exchange with a provider, secrets redacted: read only, and deleted only by the retention's prune."""

    list_display = [
        "created_at",
        "provider",
        "kind",
        "method",
        "status_code",
        "duration_ms",
        "short_url",
        "short_error",
    ]
    list_filter = ["provider", "kind", "status_code", ("error", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["url"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "provider",
        "kind",
        "method",
        "url",
        "status_code",
        "duration_ms",
        "error",
        "message",
        "template",
        "request",
        "response",
    ]
    readonly_fields = fields

    @admin.display(description=_("URL"), ordering="url")
    def short_url(self, obj):
        parts = urlsplit(obj.url)
        return Truncator(f"{parts.netloc}{parts.path}").chars(80)

    @admin.display(description=_("error"))
    def short_error(self, obj):
        return Truncator(obj.error).chars(80)

    @admin.display(description=_("request body"))
    def request(self, obj):
        return body_block(obj.request_body)

    @admin.display(description=_("response body"))
    def response(self, obj):
        return body_block(obj.response_body)

    def has_delete_permission(self, request, obj=None):
        return False  # only the retention's prune deletes


def body_block(text: str) -> str:
    if not text:
        return "-"
    return format_html('<pre style="white-space:pre-wrap;max-height:40em;overflow:auto">{}</pre>', text)
