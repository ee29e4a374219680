from django.urls import path

from . import api

app_name = "templates_app"

urlpatterns = [
    path("api/templates/sync-missing", api.TemplateSyncView.as_view(), name="sync"),
    path("api/templates/<uuid:pk>/preview", api.TemplatePreviewView.as_view(), name="preview"),
]
