from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView

from accounts.views import language_switch

admin.site.site_header = "Happy CRM"
handler500 = "happycrm.errors.server_error"  # a database that is down answers 503, everywhere
admin.site.site_title = "Happy CRM"


@require_GET
def healthz(request):
    """Liveness for load balancers and containers: the process answers, nothing else is touched."""
    return HttpResponse("ok\n", content_type="text/plain")


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="messaging:inbox", permanent=False)),
    path("accounts/", include("django.contrib.auth.urls")),
    # Django's set_language behind a wrapper that also saves a logged-in user's choice.
    path("i18n/setlang/", language_switch, name="set_language"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("messaging.urls")),
    path("", include("templates_app.urls")),
    path("", include("notifications.urls")),
]
