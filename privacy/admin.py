"""A person's data in the admin: a lead's delete (single and bulk) is its erasure, the receipts and the files that
still wait for removal are shown read-only, a bulk erasure shows its progress; the lead list exports a lead's data
as a ZIP and merges two leads of one person (its likely duplicates are a list filter of leads')."""

import tempfile

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.permissions import ERASE_LEAD, EXPORT_LEAD_DATA, MERGE_LEADS, has_perms
from happycrm.admin_site import ReadOnlyAdminMixin
from happycrm.audit import audit_record
from leads.admin import LeadAdmin
from leads.models import Lead
from leads.selectors import lead_duplicates, lead_get

from .forms import LeadMergeForm
from .models import ErasureJob, ErasureReceipt, PendingFileDeletion
from .selectors import KIND_LABELS, KINDS, OUTCOME_LABELS, lead_erase_counts, leads_merge_preview
from .selectors.export import export_filename, lead_export, leads_export
from .services import (
    LeadAlreadyGone,
    MergeRefused,
    Requester,
    lead_erase,
    leads_erase_start,
    leads_merge,
    provider_summary,
)


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

    actions = [*RegisteredLeadAdmin.actions, "export_data", "merge_leads"]
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

    # Merging two leads of one person: the action on two selected leads, or a lead's likely duplicates on its page,
    # lead to the merge page, which merges through privacy's service.

    def has_merge_permission(self, request):
        return has_perms(request.user, MERGE_LEADS)

    @admin.action(description=_("Merge the two selected leads"), permissions=["merge"])
    def merge_leads(self, request, queryset):
        leads = list(queryset.order_by("created_at", "pk")[:3])
        if len(leads) != 2:
            self.message_user(request, _("Select exactly two leads to merge."), messages.ERROR)
            return None
        first, second = leads
        return HttpResponseRedirect(f"{reverse('admin:leads_lead_merge', args=[first.pk])}?other={second.pk}")

    def get_urls(self):
        merge = path("<path:object_id>/merge/", self.admin_site.admin_view(self.merge_view), name="leads_lead_merge")
        return [merge, *super().get_urls()]

    def merge_view(self, request, object_id):
        """Both leads side by side with what each holds; the one kept takes the other's messages, conversations and
        campaign places, and the other is erased with a receipt naming it."""
        if not self.has_merge_permission(request):
            raise PermissionDenied
        lead = self.get_object(request, unquote(object_id))
        if lead is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        candidates = lead_duplicates(lead=lead)
        chosen = lead_get(pk=request.POST.get("other") or request.GET.get("other") or "")
        if chosen is not None and chosen.pk != lead.pk and chosen.pk not in {c.pk for c in candidates}:
            candidates = [chosen, *candidates]
        form = LeadMergeForm(request.POST if request.method == "POST" else None, lead=lead, candidates=candidates)
        if chosen is not None:
            form.fields["other"].initial = chosen.pk
        if request.method == "POST" and form.is_valid():
            keep, other = form.leads()
            try:
                receipt = leads_merge(keep=keep, other=other, requester=Requester.admin(request.user))
            except (LeadAlreadyGone, MergeRefused) as refused:
                form.add_error(None, str(refused))
            else:
                url = reverse("admin:privacy_erasurereceipt_change", args=[receipt.pk])
                text = gettext("%(other)s was merged into %(lead)s.") % {"other": other, "lead": keep}
                self.message_user(request, format_html('{} <a href="{}">{}</a>', text, url, receipt))
                return HttpResponseRedirect(reverse("admin:leads_lead_change", args=[keep.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Merge duplicate leads"),
            "opts": self.opts,
            "original": lead,
            "lead": lead,
            "form": form,
            "compared": leads_merge_preview(leads=[lead, *candidates]),
        }
        return TemplateResponse(request, "privacy/lead_merge.html", context, status=400 if form.errors else 200)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and self.has_merge_permission(request):
            fieldsets = [*fieldsets, (_("Likely duplicates"), {"fields": ["likely_duplicates"]})]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "likely_duplicates"] if self.has_merge_permission(request) else fields

    @admin.display(description=_("likely duplicates"))
    def likely_duplicates(self, obj):
        """Leads with the same last 10 digits or the same name, each with a link to merge it with this one."""
        duplicates = lead_duplicates(lead=obj) if obj is not None and obj.pk else []
        if not duplicates:
            return gettext("None: no other lead has the same last 10 digits or the same name.")
        merge = reverse("admin:leads_lead_merge", args=[obj.pk])
        return format_html_join(
            "",
            '<div><a href="{}">{}</a> ({}) · <a href="{}?other={}">{}</a></div>',
            (
                (reverse("admin:leads_lead_change", args=[other.pk]), other, other.phone_display or "-", merge,
                 other.pk, gettext("Merge…"))
                for other in duplicates
            ),
        )  # fmt: skip


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "erased_at",
        "erased_by_name",
        "via",
        "merged",
        "removed_summary",
        "provider_result",
        "pending",
    ]
    list_filter = ["via", ("merged_into", admin.EmptyFieldListFilter), "erased_at"]
    search_fields = ["phone_hmac"]
    fields = [
        "erased_at",
        "erased_by",
        "erased_by_name",
        "via",
        "merged",
        "moved_summary",
        "removed",
        "provider_result",
        "pending",
        "phone_hmac",
    ]
    readonly_fields = fields

    @admin.display(description=_("merged into lead"))
    def merged(self, obj):
        """The kept lead of a merge, linked while it exists (the receipt keeps only its id)."""
        if obj.merged_into is None:
            return "-"
        if not Lead.objects.filter(pk=obj.merged_into).exists():
            return gettext("%(id)s (no longer there)") % {"id": obj.merged_into}
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:leads_lead_change", args=[obj.merged_into]), obj.merged_into
        )

    @admin.display(description=_("moved to the kept lead"))
    def moved_summary(self, obj):
        # In the labels' order: the database may keep a JSON object's keys in another (PostgreSQL's jsonb does).
        moved = [(kind, obj.moved[kind]) for kind in KIND_LABELS if kind in obj.moved]
        return ", ".join(f"{count} {KIND_LABELS[kind]}" for kind, count in moved) or "-"

    def has_delete_permission(self, request, obj=None):
        return False  # the proof that the erasure happened

    @admin.display(description=_("removed"))
    def removed_summary(self, obj):
        counts = [(kind, obj.counts.get(kind, 0)) for kind in KINDS]
        return ", ".join(f"{count} {KIND_LABELS[kind]}" for kind, count in counts if count) or "-"

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
