"""django-axes' records in the admin, registered here instead of by axes (AXES_ENABLE_ADMIN = False).

Axes' own admin titles its rows in English and UTC ("Access Log for admin @ 2026-12-01 11:09:47.815254+00:00") and
builds some columns without gettext; the proxies in accounts.models give the rows names and titles of our own.
The access-failure log is not shown: it stays empty unless AXES_ENABLE_ACCESS_FAILURE_LOG is on, and the lockout
reads only the login failures.
"""

from axes.helpers import get_cool_off
from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from happycrm.admin_site import ReadOnlyAdminMixin

from .models import ApiToken, LoginFailure, SignIn
from .services import api_token_create, api_token_refusal


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


class ApiTokenAdminForm(forms.ModelForm):
    """A new token for any active user (a service user's, by staff): the same rule as the user's own page."""

    class Meta:
        model = ApiToken
        fields = ["user", "name", "expiry"]

    def clean(self):
        cleaned = super().clean()
        if self.instance._state.adding and cleaned.get("user") and "name" in cleaned:
            refusal = api_token_refusal(user=cleaned["user"], name=cleaned["name"], expires_at=cleaned.get("expiry"))
            if refusal:
                raise forms.ValidationError(refusal)
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by the service (the secret is shown once, on the page that answers the creation), renamed,
    and revoked by deleting them."""

    form = ApiTokenAdminForm
    list_display = ["name", "user", "token_key", "created", "expiry", "last_used_at"]
    list_filter = ["created", "last_used_at"]
    search_fields = ["name", "user__username", "token_key"]
    list_select_related = ["user"]

    def get_fields(self, request, obj=None):
        return (
            ["user", "name", "expiry"]
            if obj is None
            else ["user", "name", "token_key", "created", "expiry", "last_used_at"]
        )

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["user", "token_key", "created", "expiry", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, secret = api_token_create(
            user=form.cleaned_data["user"], name=form.cleaned_data["name"], expires_at=form.cleaned_data["expiry"]
        )
        # The form's unsaved instance becomes the row the service made, so the admin's log line and answer are its.
        obj.__dict__.update({name: value for name, value in token.__dict__.items() if name != "_state"})
        obj._state.adding, obj._state.db = False, token._state.db
        obj.secret = secret
        return None

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "secret": obj.secret,
            "title": _("API token created"),
        }
        response = render(request, "admin/accounts/apitoken/created.html", context)
        add_never_cache_headers(response)
        return response
