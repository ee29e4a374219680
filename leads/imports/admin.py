"""The lead list's Import and Export buttons, and the imports' pages (the dry run's report, confirm or cancel)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ExportForm

from accounts.permissions import IMPORT_LEADS, has_perms
from happycrm.admin_site import ReadOnlyAdminMixin

from ..models import LeadImport
from .resources import COLUMNS, LeadResource
from .services import (
    OUTCOMES,
    ImportFileError,
    lead_import_cancel,
    lead_import_confirm,
    lead_import_progress,
    lead_import_start,
)

OUTCOME_LABELS = {
    "created": pgettext_lazy("import outcome", "created"),
    "updated": pgettext_lazy("import outcome", "updated"),
    "unchanged": pgettext_lazy("import outcome", "unchanged"),
    "refused": pgettext_lazy("import outcome", "refused"),
}


class LeadImportForm(forms.Form):
    file = forms.FileField(
        label=_("Lead file"),
        help_text=_("A .csv (UTF-8) or .xlsx file whose first row names its columns."),
    )


class LeadImportExportMixin(ExportMixin):
    """For the lead list: Export writes the leads the list shows (its filters and search) in the columns Import
    reads; Import checks a file and shows each row's outcome before anything is written."""

    resource_classes = [LeadResource]
    export_form_class = ExportForm  # every column, so that an exported file imports back as it is
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"

    @property
    def export_formats(self):
        return [CSV, XLSX]

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def has_import_permission(self, request):
        return has_perms(request.user, IMPORT_LEADS)

    def get_urls(self):
        urls = [path("import/", self.admin_site.admin_view(self.import_view), name="leads_lead_import")]
        return urls + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = LeadImportForm(request.POST or None, request.FILES or None)
        if form.is_valid():
            try:
                job = lead_import_start(upload=form.cleaned_data["file"], user=request.user)
            except ImportFileError as error:
                form.add_error("file", str(error))
            else:
                return redirect("admin:leads_leadimport_change", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import leads"),
            "opts": self.opts,
            "form": form,
            "columns": COLUMNS,
            "imports_url": reverse("admin:leads_leadimport_changelist"),
        }
        return TemplateResponse(request, "admin/leads/lead/import.html", context)


@admin.register(LeadImport)
class LeadImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Imports are records: shown with their report, confirmed or cancelled, never edited."""

    list_display = ["file_name", "status", "progress", "summary", "created_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    fields = ["file_name", "status", "progress", "summary", "error", "created_by", "created_at", "finished_at"]
    readonly_fields = fields
    change_form_template = "admin/leads/leadimport/change_form.html"

    def get_fields(self, request, obj=None):
        return [name for name in self.fields if name != "error" or (obj and obj.error)]

    def has_view_permission(self, request, obj=None):
        return has_perms(request.user, IMPORT_LEADS)

    def has_module_permission(self, request):
        return has_perms(request.user, IMPORT_LEADS)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress(self, obj):
        done, total = lead_import_progress(job=obj), obj.total_rows
        if not total:
            return "-"
        return _("%(done)s of %(total)s rows") % {"done": done, "total": total}

    @admin.display(description=_("rows per outcome"))
    def summary(self, obj):
        if not obj.counts:
            return "-"
        return ", ".join(f"{OUTCOME_LABELS[outcome]}: {obj.counts.get(outcome, 0)}" for outcome in OUTCOMES)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = get_object_or_404(LeadImport, pk=object_id)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        if request.method == "POST":
            if "_confirm" in request.POST:
                if lead_import_confirm(import_id=job.pk):
                    messages.success(request, _("The import has started."))
                else:
                    messages.error(request, _("Only a checked file waiting for confirmation can be imported."))
            elif "_cancel" in request.POST and lead_import_cancel(import_id=job.pk):
                messages.success(request, _("The import was cancelled and its file deleted."))
            return redirect("admin:leads_leadimport_change", job.pk)
        running = job.status in (LeadImport.Status.CHECKING, LeadImport.Status.IMPORTING)
        extra_context = {
            **(extra_context or {}),
            "job": job,
            "running": running,
            "waiting": job.status == LeadImport.Status.CHECKED,
            "report": [{**row, "label": OUTCOME_LABELS[row["outcome"]]} for row in job.report],
            "report_is_partial": job.report and len(job.report) < job.total_rows,
        }
        return super().change_view(request, object_id, form_url, extra_context)
