from django.contrib import admin

from happycrm.admin_site import ReadOnlyAdminMixin

from .models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "type", "lead", "created_at"]
    list_filter = ["type", "created_at"]
    list_select_related = ["lead"]
    raw_id_fields = ["lead", "message"]
    readonly_fields = ["type", "lead", "message", "payload", "user_ids", "created_at"]
