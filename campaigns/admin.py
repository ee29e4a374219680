from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts.permissions import RUN_CAMPAIGN, START_CAMPAIGN, has_perms
from happycrm.admin_site import ReadOnlyAdminMixin, related_rows_link
from happycrm.audit import audit_record
from leads.admin import LeadAdmin as BaseLeadAdmin
from leads.models import Lead
from messaging.selectors import message_error_explanation
from messaging.services.outbound import SendRefused

from .forms import CampaignForm
from .models import Campaign, CampaignRecipient
from .selectors import campaign_audit_message, campaign_progress
from .services import campaign_cancel, campaign_create, campaign_start


def percentage(value) -> str:
    """A percentage as the language writes it: "100%" in English, "%100" in Turkish (one format for every place)."""
    return _("%(percent)s%%") % {"percent": value}


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Campaigns start from the lead list (an action) or manage.py send_campaign, never from a form here."""

    list_display = ["name", "template", "status", "progress", "created_at", "started_at", "finished_at"]
    list_filter = ["status", "template"]
    search_fields = ["name"]
    list_select_related = ["template"]
    actions = ["run_again", "cancel"]
    fields = [
        "name",
        "template",
        "parameters",
        "start_at",
        "status",
        "progress_details",
        "recipients_link",
        "created_by",
        "created_at",
        "started_at",
        "run_completed_at",
        "finished_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return percentage(campaign_progress(campaign=obj)["percent"])

    @admin.display(description=_("progress"))
    def progress_details(self, obj):
        counts = campaign_progress(campaign=obj)
        details = _(
            "%(progress)s done — %(total)s recipients: %(sent)s sent, %(failed)s failed, %(skipped)s skipped, "
            "%(queued)s waiting to be sent, %(pending)s not queued yet, %(attention)s need attention."
        ) % {**counts, "progress": percentage(counts["percent"])}
        if counts["canceled"]:
            details += " " + _("%(canceled)s canceled.") % counts
        if obj.finished_at and counts["unconfirmed"]:
            details += (
                " " + _("Finished before every delivery report came: %(unconfirmed)s still without one.") % counts
            )
        return details

    @admin.display(description=_("recipients"))
    def recipients_link(self, obj):
        return related_rows_link(
            "admin:campaigns_campaignrecipient_changelist", "campaign", obj, _("Each recipient's outcome")
        )

    def has_run_permission(self, request):
        return has_perms(request.user, RUN_CAMPAIGN)

    @admin.action(
        description=_("Run selected campaigns again (recipients already sent are skipped)"), permissions=["run"]
    )
    def run_again(self, request, queryset):
        campaigns = [campaign for campaign in queryset if campaign_start(campaign=campaign)]
        if campaigns:
            audit_record(user=request.user, message=_("Run again from the admin."), objects=campaigns)
            self.message_user(request, _("The campaigns were queued to run again."))
        if len(campaigns) < len(queryset):
            self.message_user(request, _("A canceled campaign is not run again."), messages.WARNING)

    @admin.action(
        description=_("Cancel selected campaigns (messages already sent are not recalled)"), permissions=["run"]
    )
    def cancel(self, request, queryset):
        canceled = []
        for campaign in queryset:
            try:
                canceled.append(campaign_cancel(campaign=campaign))
            except SendRefused as exc:
                self.message_user(request, exc.message, messages.WARNING)
        if canceled:
            audit_record(user=request.user, message=_("Canceled from the admin."), objects=canceled)
            self.message_user(request, _("%(count)d campaigns canceled.") % {"count": len(canceled)})


@admin.register(CampaignRecipient)
class CampaignRecipientAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["lead", "campaign", "outcome", "message_status", "why"]
    list_filter = ["outcome", "campaign"]
    list_select_related = ["lead", "campaign", "message"]
    search_fields = ["lead__name", "lead__phone"]
    readonly_fields = ["campaign", "lead", "message", "outcome", "reason"]

    @admin.display(description=_("message status"))
    def message_status(self, obj):
        return obj.message.get_status_display() if obj.message else "-"

    @admin.display(description=_("reason"))
    def why(self, obj):
        """Why it was skipped, or why the provider did not deliver it."""
        if obj.reason:
            return obj.reason
        return message_error_explanation(obj.message) if obj.message and obj.message.error_code else ""


# The lead list offers the campaign action from here: leads knows nothing of campaigns.
admin.site.unregister(Lead)


@admin.register(Lead)
class LeadAdmin(BaseLeadAdmin):
    actions = [*BaseLeadAdmin.actions, "send_campaign"]

    def has_start_campaign_permission(self, request):
        return has_perms(request.user, START_CAMPAIGN)

    @admin.action(description=_("Send a template campaign to the selected leads"), permissions=["start_campaign"])
    def send_campaign(self, request, queryset):
        form = CampaignForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                campaign = campaign_create(
                    name=form.cleaned_data["name"],
                    template=form.cleaned_data["template"],
                    leads=queryset,
                    parameters=form.cleaned_data["parameters"],
                    start_at=form.cleaned_data["start_at"],
                    created_by=request.user,
                )
            except SendRefused as exc:
                form.add_error(None, exc.message)
            else:
                audit_record(user=request.user, message=campaign_audit_message(campaign), objects=[campaign])
                self.message_user(request, _("Campaign “%(name)s” created.") % {"name": campaign.name})
                return redirect("admin:campaigns_campaign_change", campaign.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send a template campaign"),
            "opts": self.model._meta,
            "form": form,
            "leads": queryset,
        }
        return TemplateResponse(request, "admin/campaigns/send_campaign.html", context)
