import tempfile

from django.contrib import admin, messages
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.permissions import EXPORT_LEAD_DATA, has_perms
from happycrm.audit import audit_record
from leads.models import Lead

from .selectors import export_filename, lead_export, leads_export

EXPORT_MAX_LEADS = 20  # more at once is a long request: manage.py export_lead exports any number, one by one

# The lead list offers the export from here, whichever admin (with its own actions) is registered for leads.
BaseLeadAdmin = type(admin.site.get_model_admin(Lead))
admin.site.unregister(Lead)


@admin.register(Lead)
class LeadAdmin(BaseLeadAdmin):
    actions = [*BaseLeadAdmin.actions, "export_data"]

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
