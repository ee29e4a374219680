"""The templates API: the templates with their WhatsApp approval, a template as a lead would read it, and the sync
from the provider's catalogue. The spec's paths (/api/templates/…) serve the same views."""

import uuid

from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import PREVIEW_TEMPLATE, SYNC_TEMPLATES, VIEW_TEMPLATES, api_permission
from happycrm.audit import audit_record
from happycrm.rest import serializers as rest
from happycrm.rest.errors import ApiError
from leads.models import Lead

from .models import Template
from .rendering import template_preview
from .services import TemplateSyncError, templates_sync

UUID_PATTERN = "[0-9a-fA-F-]{32,36}"
TEMPLATE_EXAMPLE = {
    "id": "3f2b8d1e-7c4a-4e59-9b1d-2a6c8e0f4d13",
    "name": "etkinlik_hatirlatma",
    "content": "Merhaba {{1}}, {{2}} saat {{3}} için yeriniz hazır.",
    "content_sid": "HX0123456789abcdef0123456789abcdef",
    "status": "active",
    "language": "tr",
    "variables": {"1": "Ayşe", "2": "05.12.2026", "3": "19:30"},
    "approval_status": "approved",
    "rejection_reason": "",
    "category": "UTILITY",
    "created_at": "2026-11-02T10:00:00+03:00",
    "updated_at": "2026-11-20T09:30:00+03:00",
}


class TemplateSerializer(rest.ModelSerializer):
    variables = serializers.DictField(
        child=serializers.CharField(),
        help_text=gettext_lazy("The provider's sample value per placeholder number."),
        read_only=True,
    )

    class Meta:
        model = Template
        fields = [
            "id",
            "name",
            "content",
            "content_sid",
            "status",
            "language",
            "variables",
            "approval_status",
            "rejection_reason",
            "category",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "content": {
                "help_text": gettext_lazy(
                    "The text; {{1}} is the lead's name, {{2}} the event date, "
                    "{{3}} the event time, {{4}} onwards the sender's values."
                )
            },
            "content_sid": {"help_text": gettext_lazy("The WhatsApp content template's SID; null for a local one.")},
            "status": {"help_text": gettext_lazy("Active templates may be sent.")},
            "approval_status": {"help_text": gettext_lazy("WhatsApp's review of a content template.")},
            "rejection_reason": {"help_text": gettext_lazy("Why WhatsApp rejected it, when it did.")},
        }


@extend_schema_view(
    list=extend_schema(
        summary="List templates",
        description="Every template, by name, with its WhatsApp approval. Filter by `status` and `approval_status`.",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Template.Status.values, description="Active or not."),
            OpenApiParameter(
                "approval_status",
                OpenApiTypes.STR,
                enum=Template.ApprovalStatus.values,
                description="WhatsApp's review.",
            ),
        ],
        examples=[OpenApiExample("A page", value=TEMPLATE_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One template",
        examples=[OpenApiExample("A template", value=TEMPLATE_EXAMPLE, response_only=True)],
    ),
)
class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read only: templates come from the provider's catalogue (the sync) or the admin."""

    serializer_class = TemplateSerializer
    permission_classes = [api_permission(VIEW_TEMPLATES)]
    lookup_value_regex = UUID_PATTERN
    FILTERS = {"status": Template.Status.values, "approval_status": Template.ApprovalStatus.values}

    def get_queryset(self):
        templates = Template.objects.order_by("name", "pk")
        if self.action != "list":
            return templates
        for name, allowed in self.FILTERS.items():
            value = self.request.query_params.get(name)
            if value is None:
                continue
            if value not in allowed:
                raise BadRequest({name: [_("Must be one of: %(values)s.") % {"values": ", ".join(allowed)}]})
            templates = templates.filter(**{name: value})
        return templates


class SyncReportSerializer(rest.Serializer):
    created = serializers.ListField(child=serializers.CharField(), help_text=gettext_lazy("Names of new templates."))
    updated = serializers.ListField(child=serializers.CharField(), help_text=gettext_lazy("Names of changed ones."))
    deactivated = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("Names of those the provider no longer has.")
    )
    failed = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text=gettext_lazy("Items that could not be read: their `sid` and `error`."),
    )
    unchanged = serializers.IntegerField(help_text=gettext_lazy("How many were already up to date."))


class TemplateSyncView(APIView):
    """The spec's POST /api/templates/sync-missing and /api/v1/templates/sync: sync from the provider, answer with
    what changed; 502 when its catalogue cannot be read (nothing changed then)."""

    permission_classes = [api_permission(SYNC_TEMPLATES)]

    @extend_schema(
        summary="Sync templates from the provider",
        description=(
            "Reads the provider's whole template catalogue: creates and updates templates, deactivates those it no "
            "longer has. A second run with nothing new changes nothing. 502 when the catalogue cannot be read."
        ),
        request=None,
        responses={
            200: SyncReportSerializer,
            502: OpenApiResponse(description="The provider's catalogue could not be read; nothing changed."),
        },
        examples=[
            OpenApiExample(
                "Synced",
                value={"created": ["kis_kampanyasi"], "updated": [], "deactivated": [], "failed": [], "unchanged": 4},
                response_only=True,
            )
        ],
    )
    def post(self, request):
        try:
            report = templates_sync()
        except TemplateSyncError as exc:
            raise ApiError(str(exc), code="provider_unavailable", status_code=status.HTTP_502_BAD_GATEWAY) from None
        audit_record(
            user=request.user,
            message=_("Synced through the API: %(summary)s") % {"summary": report.summary()},
            model=Template,
        )
        return Response(report.as_dict())


class MissingValueSerializer(rest.Serializer):
    placeholder = serializers.CharField(help_text=gettext_lazy("The placeholder left unfilled, e.g. `{{3}}`."))
    meaning = serializers.CharField(help_text=gettext_lazy("What it stands for (empty for a sender's value)."))


class PreviewSerializer(rest.Serializer):
    text = serializers.CharField(help_text=gettext_lazy("The text as the lead would read it."))
    missing = MissingValueSerializer(many=True, help_text=gettext_lazy("Placeholders with no value."))


class TemplatePreviewView(APIView):
    """The template as `lead` would read it (`?lead=<id>`, extra values as repeated `param`), missing values flagged."""

    permission_classes = [api_permission(PREVIEW_TEMPLATE)]

    @extend_schema(
        summary="Preview a template for a lead",
        description=(
            "The template filled as it would be sent to the lead: {{1}}-{{3}} from the lead, {{4}} onwards from the "
            "repeated `param` values in order. A placeholder with no value stays visible and is listed in `missing`."
        ),
        parameters=[
            OpenApiParameter("lead", OpenApiTypes.UUID, required=True, description="The lead's id."),
            OpenApiParameter(
                "param",
                {"type": "array", "items": {"type": "string"}},
                explode=True,
                description="Values for {{4}}, {{5}}, … in order (repeat the parameter).",
            ),
        ],
        responses={200: PreviewSerializer},
        examples=[
            OpenApiExample(
                "A preview",
                value={
                    "text": "Merhaba Ayşe, 05.12.2026 saat {{3}} için yeriniz hazır.",
                    "missing": [{"placeholder": "{{3}}", "meaning": "the event time"}],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, pk):
        template = get_object_or_404(Template, pk=pk)
        lead_id = request.query_params.get("lead")
        if not lead_id:
            raise BadRequest({"lead": [_("This query parameter is required.")]})
        try:
            lead = Lead.objects.filter(pk=uuid.UUID(lead_id)).first()
        except ValueError:
            lead = None
        if lead is None:
            raise BadRequest({"lead": [_("No such lead.")]})
        params = request.query_params.getlist("param")
        if any("\x00" in value for value in params):
            raise BadRequest({"param": [_("Null characters are not allowed.")]})
        return Response(template_preview(template=template, lead=lead, extra=params))


routes = [("templates", TemplateViewSet, "template")]

urlpatterns = [  # before the router's: `templates/sync` is not a template's id
    path("templates/sync", TemplateSyncView.as_view(), name="templates-sync"),
    path("templates/<uuid:pk>/preview", TemplatePreviewView.as_view(), name="template-preview"),
]

spec_urlpatterns = [  # the spec's paths under /api/, through happycrm.api_urls
    path("templates/sync-missing", TemplateSyncView.as_view(), name="templates-sync"),
    path("templates/<uuid:pk>/preview", TemplatePreviewView.as_view(), name="template-preview"),
]
