"""The project's admin site: Django's, with checks at its door.

The admin puts query-string values into queries as they come (a list filter's `?status=`, any
lookup on a filtered field), and PostgreSQL refuses a NUL in text: `?status=%00` was a 500 on every
changelist. Django's forms refuse NUL (the admin's search goes through one); here every admin page
refuses it the same way, with a message and the page again without the query. An action posted with rows
that are not the model's keys (a forged `_selected_action`) is refused the same way, not a 500."""

from functools import wraps

from django.contrib import messages
from django.contrib.admin import AdminSite, ModelAdmin, helpers
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

NUL = "\x00"


def query_has_nul(query) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query.lists())


def selection_is_valid(view, request) -> bool:
    """An action's selected rows (`_selected_action`) are keys of the list's model, as the changelist posts them:
    a forged one (not a UUID, a NUL) would reach `pk__in` and fail there."""
    model_admin = getattr(view, "__self__", None)
    if request.method != "POST" or not isinstance(model_admin, ModelAdmin):
        return True
    pk = model_admin.model._meta.pk
    try:
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            pk.to_python(value)
    except ValidationError:
        return False
    return True


class HappyCRMAdminSite(AdminSite):
    def admin_view(self, view, cacheable=False):
        admin_view = super().admin_view(view, cacheable)

        @wraps(admin_view)
        def guarded(request, *args, **kwargs):
            if query_has_nul(request.GET):
                messages.error(request, _("The address contained a NUL character, so its filters were cleared."))
                return HttpResponseRedirect(request.path)
            if not selection_is_valid(view, request):
                messages.error(request, _("The selected rows were not recognised: select them again."))
                return HttpResponseRedirect(request.get_full_path())
            return admin_view(request, *args, **kwargs)

        return guarded


class HappyCRMAdminConfig(AdminConfig):
    default_site = "dashboard.admin.DashboardAdminSite"  # this site, with the dashboard as its index


class ReadOnlyAdminMixin:
    """Rows the system writes (evidence, records, a campaign's outcomes): shown, filtered and acted on in the
    admin, never added or edited by hand. Deleting is left to the model's permission."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def related_rows_link(url_name: str, field: str, obj, text) -> str:
    """A link to the admin list `url_name` filtered to the rows whose `field` is `obj` ("-" before it is saved)."""
    if obj is None or obj.pk is None:
        return "-"
    return format_html('<a href="{}">{}</a>', reverse(url_name) + f"?{field}__id__exact={obj.pk}", text)
