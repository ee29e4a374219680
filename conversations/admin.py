from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.permissions import CHANGE_CONVERSATION, has_perms
from happycrm.admin_site import ReadOnlyAdminMixin

from .models import Conversation
from .services import ConversationRefused, conversations_action

DONE = {
    "take": lambda n: ngettext("%(count)d conversation taken.", "%(count)d conversations taken.", n),
    "unassign": lambda n: ngettext("%(count)d conversation unassigned.", "%(count)d conversations unassigned.", n),
    "resolve": lambda n: ngettext("%(count)d conversation resolved.", "%(count)d conversations resolved.", n),
    "reopen": lambda n: ngettext("%(count)d conversation reopened.", "%(count)d conversations reopened.", n),
}


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The episodes with leads, for the operators: who has which and in what state, the first response and the
    resolution times; taking, resolving and reopening through the same service as the inbox."""

    list_display = ["lead", "status", "assignee", "opened_at", "first_response_at", "resolved_at", "snoozed_until"]
    list_filter = ["status", "assignee"]
    list_select_related = ["lead", "assignee"]
    search_fields = ["lead__name", "lead__phone"]
    date_hierarchy = "opened_at"
    actions = ["take", "unassign", "resolve", "reopen"]

    def has_delete_permission(self, request, obj=None):
        return False  # an episode goes with its lead's erasure, never alone

    def has_act_permission(self, request):
        return has_perms(request.user, CHANGE_CONVERSATION)

    def _act(self, request, queryset, action: str):
        try:
            changed = conversations_action(
                lead_ids=list(queryset.values_list("lead_id", flat=True)), action=action, agent=request.user
            )
        except ConversationRefused as refused:
            self.message_user(request, refused.message, messages.ERROR)
            return
        self.message_user(request, DONE[action](len(changed)) % {"count": len(changed)}, messages.SUCCESS)

    @admin.action(description=_("Take (assign to me)"), permissions=["act"])
    def take(self, request, queryset):
        self._act(request, queryset, "take")

    @admin.action(description=_("Unassign"), permissions=["act"])
    def unassign(self, request, queryset):
        self._act(request, queryset, "unassign")

    @admin.action(description=_("Resolve"), permissions=["act"])
    def resolve(self, request, queryset):
        self._act(request, queryset, "resolve")

    @admin.action(description=_("Reopen"), permissions=["act"])
    def reopen(self, request, queryset):
        self._act(request, queryset, "reopen")
