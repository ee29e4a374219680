from django.contrib import admin

from .models import Template

PROVIDER_FIELDS = ["content_sid", "approval_status", "rejection_reason", "category", "language", "variables"]


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "category", "approval_status", "status", "content_sid", "updated_at"]
    list_filter = ["approval_status", "status", "language", "category"]
    search_fields = ["name", "content", "content_sid"]
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # A template synced from Twilio is Twilio's: its approval, text and SID come from the sync.
        if obj is not None and obj.content_sid:
            return [*PROVIDER_FIELDS, "content", *self.readonly_fields]
        return self.readonly_fields
