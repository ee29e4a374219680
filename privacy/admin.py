"""A person's data in the admin: a lead's delete (single and bulk) is its erasure, the receipts and the files that
still wait for removal are shown read-only, a bulk erasure shows its progress; the lead list exports a lead's data
as a ZIP."""

import tempfile

from django.contrib import admin, messages
from django.http import FileResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.permissions import ERASE_LEAD, EXPORT_LEAD_DATA, has_perms
from happycrm.admin_site import ReadOnlyAdminMixin
from happycrm.audit import audit_record
from leads.admin import LeadAdmin
from leads.models import Lead

from .models import ErasureJob, ErasureReceipt, PendingFileDeletion
from .selectors import KIND_LABELS, KINDS, OUTCOME_LABELS, lead_erase_counts
from .selectors.export import export_filename, lead_export, leads_export
from .services import LeadAlreadyGone, Requester, lead_erase, leads_erase_start, provider_summary


def counts_html(counts: dict) -> str:
    return format_html_join(
        "", "<div>{}: {}</div>", ((KIND_LABELS.get(kind, kind), counts.get(kind, 0)) for kind in KINDS)
    )


EXPORT_MAX_LEADS = 20  # more at once is a long request: manage.py export_lead exports any number, one by one

# The lead admin as the apps before this one made it (campaigns adds its action the same way), its delete made
# erasure and an export action added; leads knows nothing of privacy.
RegisteredLeadAdmin: type[LeadAdmin] = type(admin.site.get_model_admin(Lead))
admin.site.unregister(Lead)


@admin.register(Lead)
class PrivacyLeadAdmin(RegisteredLeadAdmin):
    """The leads' admin, whose delete is erasure (everything kept about the lead, through privacy's service) and
    which exports a lead's data."""

    actions = [*RegisteredLeadAdmin.actions, "export_data"]
    delete_confirmation_template = "privacy/lead_delete_confirmation.html"
    delete_selected_confirmation_template = "privacy/lead_delete_selected_confirmation.html"

    def has_delete_permission(self, request, obj=None):
        return has_perms(request.user, ERASE_LEAD)

    def get_deleted_objects(self, objs, request):
        """The confirmation page lists each lead with what goes with it, and the totals per kind. What the other
        apps' admins allow plays no part: the erase permission covers it all."""
        deleted, totals = [], dict.fromkeys(KINDS, 0)
        for lead in objs:
            counts = lead_erase_counts(lead=lead)
            deleted.append(f"{lead} ({lead.phone_display})")
            deleted.append([f"{KIND_LABELS[kind]}: {count}" for kind, count in counts.items()])
            for kind, count in counts.items():
                totals[kind] += count
        model_count = {KIND_LABELS[kind]: count for kind, count in totals.items() if count}
        perms_needed = set() if has_perms(request.user, ERASE_LEAD) else {gettext("erase lead")}
        return deleted, model_count, perms_needed, []

    def log_deletions(self, request, queryset):
        """Django's deletion line would keep the lead's name: the erasure records its own line, by receipt."""
        return []

    def delete_model(self, request, obj):
        try:
            receipt = lead_erase(lead=obj, requester=Requester.admin(request.user))
        except LeadAlreadyGone as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return
        url = reverse("admin:privacy_erasurereceipt_change", args=[receipt.pk])
        self.message_user(request, format_html('{} <a href="{}">{}</a>', gettext("Erased."), url, receipt))

    def delete_queryset(self, request, queryset):
        job = leads_erase_start(
            lead_ids=list(queryset.values_list("pk", flat=True)), requester=Requester.admin(request.user)
        )
        url = reverse("admin:privacy_erasurejob_change", args=[job.pk])
        text = ngettext(
            "Erasing %(count)d lead in the background.", "Erasing %(count)d leads in the background.", job.total
        ) % {"count": job.total}
        self.message_user(request, format_html('{} <a href="{}">{}</a>', text, url, gettext("See its progress.")))

    def has_export_permission(self, request):
        return has_perms(request.user, EXPORT_LEAD_DATA)

    @admin.action(description=_("Export data (ZIP)"), permissions=["export"])
    def export_data(self, request, queryset):
        """One ZIP per lead (several: a ZIP of them), built in a temporary file and streamed from it."""
        leads = list(queryset.select_related("stage").order_by("name", "pk")[: EXPORT_MAX_LEADS + 1])
        if len(leads) > EXPORT_MAX_LEADS:
            self.message_user(
                request,
                _("Select at most %(count)s leads to export at once.") % {"count": EXPORT_MAX_LEADS},
                messages.ERROR,
            )
            return None
        output = tempfile.TemporaryFile()  # noqa: SIM115 -- FileResponse closes it once sent
        try:
            if len(leads) == 1:
                exports = [lead_export(lead=leads[0], output=output)]
                filename = export_filename(leads[0])
            else:
                exports = leads_export(leads=leads, output=output)
                filename = "leads-export.zip"
        except BaseException:
            output.close()
            raise
        output.seek(0)
        for lead, export in zip(leads, exports, strict=True):
            audit_record(
                user=request.user, message=_("Data exported (ZIP): %(summary)s.") % {"summary": export.summary()},
                objects=[lead],
            )  # fmt: skip
        missing = [(lead, item) for lead, export in zip(leads, exports, strict=True) for item in export.missing]
        if missing:
            self.message_user(
                request,
                ngettext(
                    "An attachment file is missing from the export: %(files)s",
                    "%(count)s attachment files are missing from the export: %(files)s",
                    len(missing),
                )
                % {"count": len(missing), "files": "; ".join(f"{lead} — {item}" for lead, item in missing)},
                messages.WARNING,
            )
        return FileResponse(output, as_attachment=True, filename=filename, content_type="application/zip")


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "erased_at", "erased_by_name", "via", "removed_summary", "provider_result", "pending"]
    list_filter = ["via", "erased_at"]
    search_fields = ["phone_hmac"]
    fields = ["erased_at", "erased_by", "erased_by_name", "via", "removed", "provider_result", "pending", "phone_hmac"]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False  # the proof that the erasure happened

    @admin.display(description=_("removed"))
    def removed_summary(self, obj):
        return ", ".join(f"{count} {KIND_LABELS[kind]}" for kind, count in obj.counts.items() if count) or "-"

    @admin.display(description=_("removed"))
    def removed(self, obj):
        return counts_html(obj.counts)

    @admin.display(description=_("at the provider"))
    def provider_result(self, obj):
        summary = provider_summary(obj)
        return ", ".join(f"{OUTCOME_LABELS.get(k, k)}: {v}" for k, v in summary.items()) or "-"

    @admin.display(description=_("files awaiting removal"))
    def pending(self, obj):
        return obj.pending_files.count()


@admin.register(PendingFileDeletion)
class PendingFileDeletionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "receipt", "attempts", "last_error", "created_at", "updated_at"]
    readonly_fields = ["name", "receipt", "attempts", "last_error", "created_at", "updated_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # removed by the periodic retry once the file is gone


@admin.register(ErasureJob)
class ErasureJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "progress", "failed", "created_by", "created_at", "finished_at"]
    fields = ["status", "progress", "failed", "errors", "created_by", "created_at", "finished_at"]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.done + obj.failed} / {obj.total}"
