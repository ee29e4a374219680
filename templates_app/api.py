import uuid

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import PREVIEW_TEMPLATE, SYNC_TEMPLATES, api_permission
from happycrm.audit import audit_record
from leads.models import Lead

from .models import Template
from .rendering import template_preview
from .services import TemplateSyncError, templates_sync


class TemplateSyncView(APIView):
    """The spec's POST /api/templates/sync-missing: sync from the provider, answer with what changed."""

    permission_classes = [api_permission(SYNC_TEMPLATES)]

    def post(self, request):
        try:
            report = templates_sync()
        except TemplateSyncError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        audit_record(
            user=request.user,
            message=_("Synced through the API: %(summary)s") % {"summary": report.summary()},
            model=Template,
        )
        return Response(report.as_dict())


class TemplatePreviewView(APIView):
    """The template as `lead` would read it (`?lead=<id>`, extra values as repeated `param`), missing values flagged."""

    permission_classes = [api_permission(PREVIEW_TEMPLATE)]

    def get(self, request, pk):
        template = get_object_or_404(Template, pk=pk)
        lead_id = request.query_params.get("lead")
        if not lead_id:
            return Response({"lead": ["This query parameter is required."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            lead = Lead.objects.filter(pk=uuid.UUID(lead_id)).first()
        except ValueError:
            lead = None
        if lead is None:
            return Response({"lead": ["No such lead."]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(template_preview(template=template, lead=lead, extra=request.query_params.getlist("param")))


spec_urlpatterns = [  # the spec's paths under /api/, through happycrm.api_urls
    path("templates/sync-missing", TemplateSyncView.as_view(), name="templates-sync"),
    path("templates/<uuid:pk>/preview", TemplatePreviewView.as_view(), name="template-preview"),
]
