from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from happycrm.admin_site import ReadOnlyAdminMixin

from .models import PruneRun
from .services import KIND_LABELS


@admin.register(PruneRun)
class PruneRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["started_at", "finished_at", "summary", "deleted_total"]
    readonly_fields = ["started_at", "finished_at", "summary"]
    fields = readonly_fields
    date_hierarchy = "started_at"

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("pruned"))
    def summary(self, obj):
        return "; ".join(
            f"{KIND_LABELS.get(key, key)}: {result.get('error') or result.get('deleted', 0)}"
            for key, result in obj.results.items()
        )

    @admin.display(description=_("rows deleted"))
    def deleted_total(self, obj):
        return obj.deleted
