"""The one API router. Under /api/v1/: each app's resources (the `routes` and `urlpatterns` of its api.py), the
schema and its documentation. Under /api/: the spec's paths (`spec_urlpatterns`), serving the same views.

A provider's webhook is not here: it lives with its provider (messaging/backends/<provider>/urls.py)."""

from django.urls import include, path
from django.utils.module_loading import import_module
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

app_name = "api"

# In order: an app later in the list may serve a prefix an earlier one declared with a view of its own built on it
# (messaging's lead view, with the filters its messages answer, over the leads app's; privacy's, whose delete is
# erasure, over messaging's).
API_MODULES = [
    "leads.api",
    "messaging.api",
    "conversations.api",
    "templates_app.api",
    "campaigns.api",
    "notifications.api",
    "privacy.api",
    "webhooks.api",
]


def _v1_patterns(modules) -> list:
    routes = {}
    for module in modules:
        for prefix, viewset, basename in getattr(module, "routes", ()):
            routes[prefix] = (viewset, basename)
    router = SimpleRouter(trailing_slash=False)
    for prefix, (viewset, basename) in routes.items():
        router.register(prefix, viewset, basename=basename)
    patterns = [pattern for module in modules for pattern in getattr(module, "urlpatterns", ())]
    return [
        *patterns,
        *router.urls,
        path("schema/", SpectacularAPIView.as_view(), name="schema"),
        path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:v1:schema"), name="docs"),
        path("docs/redoc/", SpectacularRedocView.as_view(url_name="api:v1:schema"), name="redoc"),
    ]


_MODULES = [import_module(name) for name in API_MODULES]

urlpatterns = [
    path("v1/", include((_v1_patterns(_MODULES), "v1"))),
    *(pattern for module in _MODULES for pattern in getattr(module, "spec_urlpatterns", ())),
]
