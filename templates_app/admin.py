from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.permissions import SYNC_TEMPLATES, has_perms
from happycrm.admin_site import related_rows_link
from happycrm.audit import audit_record
from leads.models import Lead

from .forms import CannedReplyForm
from .models import CannedReply, Template
from .rendering import template_preview
from .services import TemplateSyncError, canned_reply_save, templates_sync

PROVIDER_FIELDS = ["content_sid", "approval_status", "rejection_reason", "category", "language", "variables"]
BADGE_COLOURS = {
    Template.ApprovalStatus.APPROVED: "#1b7f3b",
    Template.ApprovalStatus.PENDING: "#a66b00",
    Template.ApprovalStatus.RECEIVED: "#a66b00",
    Template.ApprovalStatus.REJECTED: "#b3261e",
    Template.ApprovalStatus.PAUSED: "#b3261e",
    Template.ApprovalStatus.DISABLED: "#b3261e",
    Template.ApprovalStatus.UNSUBMITTED: "#555555",
}


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    change_list_template = "admin/templates_app/template/change_list.html"
    list_display = ["name", "approval_badge", "status", "language", "category", "content_sid", "updated_at"]
    list_filter = ["approval_status", "status", "language", "category"]
    search_fields = ["name", "content", "content_sid"]
    readonly_fields = ["preview", "provider_log_link", "created_at", "updated_at"]

    @admin.display(description=_("WhatsApp approval"), ordering="approval_status")
    def approval_badge(self, obj):
        badge = format_html(
            '<span style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>',
            BADGE_COLOURS.get(obj.approval_status, "#555555"),
            obj.get_approval_status_display(),
        )
        if obj.rejection_reason:
            return format_html("{} <small>{}</small>", badge, obj.rejection_reason)
        return badge

    @admin.display(description=_("preview"))
    def preview(self, obj):
        """The text as the most recently active lead would read it (a placeholder without a value stays visible)."""
        lead = Lead.objects.order_by("-last_message_at", "-created_at").first()
        if obj is None or obj.pk is None or lead is None or not obj.content:
            return "-"
        rendered = template_preview(template=obj, lead=lead)
        missing = ", ".join(item["placeholder"] for item in rendered["missing"])
        return format_html(
            '<div style="white-space:pre-wrap">{}</div><small>{}</small>',
            rendered["text"],
            _("For %(lead)s.") % {"lead": lead.name}
            + (" " + _("Missing: %(missing)s") % {"missing": missing} if missing else ""),
        )

    @admin.display(description=_("provider exchanges"))
    def provider_log_link(self, obj):
        return related_rows_link(
            "admin:messaging_providerlog_changelist",
            "template",
            obj,
            _("The exchanges with the provider for this template"),
        )

    def get_readonly_fields(self, request, obj=None):
        # A synced template is the provider's: its approval, text and SID come from the sync.
        if obj is not None and obj.content_sid:
            return [*PROVIDER_FIELDS, "content", *self.readonly_fields]
        return self.readonly_fields

    def get_urls(self):
        return [
            path("sync/", self.admin_site.admin_view(self.sync_view), name="templates_app_template_sync"),
            *super().get_urls(),
        ]

    @staticmethod
    def _sync_message(report) -> str:
        text = _("Synced from Twilio: %(summary)s") % {"summary": report.summary()}
        if report.failed:
            text += " " + "; ".join(f"{item['sid'] or '?'}: {item['error']}" for item in report.failed)
        return text

    def sync_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not has_perms(request.user, SYNC_TEMPLATES):
            raise PermissionDenied
        try:
            report = templates_sync()
        except TemplateSyncError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            audit_record(user=request.user, message=self._sync_message(report), model=Template)
            level = messages.WARNING if report.failed else messages.SUCCESS
            self.message_user(request, self._sync_message(report), level)
        return redirect("admin:templates_app_template_changelist")


class SharedCannedReplyForm(CannedReplyForm):
    class Meta(CannedReplyForm.Meta):
        fields = ["shortcut", "text", "owner"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """The team's canned replies (no owner) and, to look after, the agents' own."""

    form = SharedCannedReplyForm
    list_display = ["__str__", "text", "owner", "updated_at"]
    list_filter = [("owner", admin.EmptyFieldListFilter), "owner"]
    search_fields = ["shortcut", "text"]
    list_select_related = ["owner"]

    def save_model(self, request, obj, form, change):
        canned_reply_save(reply=obj)
