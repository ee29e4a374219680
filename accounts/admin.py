"""django-axes' records in the admin, registered here instead of by axes (AXES_ENABLE_ADMIN = False).

Axes' own admin titles its rows in English and UTC ("Access Log for admin @ 2026-12-01 11:09:47.815254+00:00") and
builds some columns without gettext; the proxies in accounts.models give the rows names and titles of our own.
The access-failure log is not shown: it stays empty unless AXES_ENABLE_ACCESS_FAILURE_LOG is on, and the lockout
reads only the login failures.
"""

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from happycrm.admin_site import ReadOnlyAdminMixin

from .models import LoginFailure, SignIn


def locked_out_q():
    """The failures that lock their username and address now: at the limit, and within the cool-off."""
    return Q(failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=timezone.now() - get_cool_off())


class LockedOutFilter(admin.SimpleListFilter):
    title = _("Locked out")
    parameter_name = "locked_out"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(locked_out_q())
        if self.value() == "no":
            return queryset.exclude(locked_out_q())
        return queryset


class ReadOnlyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Written by logging in, never by hand."""

    date_hierarchy = "attempt_time"
    search_fields = ["username", "ip_address", "user_agent", "path_info"]


@admin.register(LoginFailure)
class LoginFailureAdmin(ReadOnlyRecordAdmin):
    """Deleting a row (Operators may) unlocks its username and address."""

    list_display = ["attempt_time", "username", "ip_address", "path_info", "failures_since_start", "locked_out"]
    list_filter = [LockedOutFilter, "attempt_time", "path_info"]
    fieldsets = [
        (None, {"fields": ["username", "ip_address", "path_info", "failures_since_start", "attempt_time"]}),
        (_("Request"), {"fields": ["user_agent", "http_accept", "get_data", "post_data"]}),
    ]

    @admin.display(description=_("Locked out"), boolean=True)
    def locked_out(self, obj):
        return (
            obj.failures_since_start >= settings.AXES_FAILURE_LIMIT
            and obj.attempt_time >= timezone.now() - get_cool_off()
        )


@admin.register(SignIn)
class SignInAdmin(ReadOnlyRecordAdmin):
    list_display = ["attempt_time", "logout_time", "username", "ip_address", "user_agent", "path_info"]
    list_filter = ["attempt_time", "logout_time", "path_info"]
    fieldsets = [
        (None, {"fields": ["username", "ip_address", "path_info", "attempt_time", "logout_time"]}),
        (_("Request"), {"fields": ["user_agent", "http_accept"]}),
    ]
