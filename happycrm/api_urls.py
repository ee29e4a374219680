"""The one API router: each app's endpoints (its api.py), at the spec's paths under /api/, names in `api:`.

A provider's webhook is not here: it lives with its provider (messaging/backends/<provider>/urls.py)."""

from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("", include("messaging.api")),
    path("", include("templates_app.api")),
    path("", include("notifications.api")),
]
