from django.contrib import admin
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe
from django.views.generic import RedirectView

from accounts.views import LoginView, PasswordResetView, api_token_revoke_view, api_tokens, language_switch
from happycrm.endpoints import machine_endpoint
from happycrm.health import readiness

admin.site.site_header = "Happy CRM"
handler500 = "happycrm.errors.server_error"  # a database that is down answers 503, everywhere
handler404 = "happycrm.rest.errors.not_found"  # the API's error format under /api/
admin.site.site_title = "Happy CRM"


@require_safe
def healthz(request):
    """Liveness for load balancers and containers: the process answers, nothing else is touched."""
    return HttpResponse("ok\n", content_type="text/plain")


@machine_endpoint
@require_safe
def readyz(request):
    """Readiness: 200 when the database, Redis, the broker and the storage answer, else 503 naming what is down.
    Each check's time is given; no address, message or personal data is."""
    results = readiness()
    answer = {"status": "ok", "checks": {result.name: result.as_dict() for result in results}}
    if down := [result.name for result in results if not result.ok]:
        answer.update(status="down", down=down)
    return JsonResponse(answer, status=503 if down else 200, headers={"Cache-Control": "no-store"})


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico whatever a page links (the admin's pages link none): the static icon."""
    return redirect(static("inbox/favicon.ico"))


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox:index", permanent=False)),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/tokens/", api_tokens, name="api_tokens"),
    path("accounts/tokens/revoke/", api_token_revoke_view, name="api_token_revoke"),
    path("accounts/", include("django.contrib.auth.urls")),
    # Django's set_language behind a wrapper that also saves a logged-in user's choice.
    path("i18n/setlang/", language_switch, name="set_language"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/", include("happycrm.api_urls")),
    path("", include("messaging.urls")),
    path("", include("messaging.inbox.urls")),
    path("", include("privacy.urls")),  # the lead panel's merge
    path("", include("notifications.urls")),
]
