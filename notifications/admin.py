from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "lead", "created_at"]
    list_filter = ["type", "created_at"]
    list_select_related = ["lead"]
    raw_id_fields = ["lead", "message"]
    readonly_fields = ["type", "lead", "message", "payload", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
