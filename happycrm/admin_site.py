"""The project's admin site: Django's, with one check at its door.

The admin puts query-string values into queries as they come (a list filter's `?status=`, any
lookup on a filtered field), and PostgreSQL refuses a NUL in text: `?status=%00` was a 500 on every
changelist. Django's forms refuse NUL (the admin's search goes through one); here every admin page
refuses it the same way, with a message and the page again without the query."""

from functools import wraps

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _

NUL = "\x00"


def query_has_nul(query) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query.lists())


class HappyCRMAdminSite(AdminSite):
    def admin_view(self, view, cacheable=False):
        admin_view = super().admin_view(view, cacheable)

        @wraps(admin_view)
        def refuse_nul(request, *args, **kwargs):
            if query_has_nul(request.GET):
                messages.error(request, _("The address contained a NUL character, so its filters were cleared."))
                return HttpResponseRedirect(request.path)
            return admin_view(request, *args, **kwargs)

        return refuse_nul


class HappyCRMAdminConfig(AdminConfig):
    default_site = "happycrm.admin_site.HappyCRMAdminSite"
