"""The templates API: the templates with their WhatsApp approval, a template as a lead would read it, the sync
from the provider's catalogue, and the canned replies (the team's and each agent's own, filled for a lead as the
composer fills them). The spec's paths (/api/templates/…) serve the same views."""

import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import (
    ADD_SHARED_REPLY,
    CHANGE_SHARED_REPLY,
    DELETE_SHARED_REPLY,
    PREVIEW_TEMPLATE,
    SEND_MESSAGE,
    SYNC_TEMPLATES,
    VIEW_TEMPLATES,
    api_permission,
    has_perms,
)
from happycrm.audit import audit_record
from happycrm.rest import serializers as rest
from happycrm.rest.errors import ApiError, validation_refusal
from leads.models import Lead

from .models import CannedReply, Template
from .rendering import content_preview, template_preview
from .selectors import canned_replies_for
from .services import CANNED_TEXT_MAX, TemplateSyncError, canned_reply_delete, canned_reply_save, templates_sync

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


class SharedField(serializers.BooleanField):
    """Whether a canned reply is the team's: it has no owner."""

    def get_attribute(self, instance):
        return instance.owner_id is None


class CannedReplySerializer(rest.ModelSerializer):
    shortcut = serializers.CharField(
        max_length=100,
        help_text="What follows / in the composer (`fiyat`): letters, digits, - and _, at most 32 (a leading / is "
        "dropped). Unique among the team's replies, and among each agent's own (one's own may share a team's).",
    )
    text = serializers.CharField(
        help_text=f"At most {CANNED_TEXT_MAX} characters; {{{{1}}}} is the lead's name, {{{{2}}}} the event date, "
        "{{3}} the event time, filled when it is picked."
    )
    shared = SharedField(
        required=False,
        default=False,
        help_text="true: the team's (making one needs `templates_app.add_cannedreply`); false: the caller's own. "
        "Chosen when it is made; not changed after.",
    )
    filled = serializers.SerializerMethodField(
        help_text="With `?lead=`: the text as that lead would read it, placeholders with no value listed in "
        "`missing`; null otherwise."
    )

    class Meta:
        model = CannedReply
        fields = ["id", "shortcut", "text", "shared", "filled", "created_at", "updated_at"]
        read_only_fields = ["id", "filled", "created_at", "updated_at"]
        validators = []  # the service's rules decide (canned_reply_save), as on the agent's page and in the admin
        extra_kwargs = {"id": {"help_text": "The reply's id."}}

    @extend_schema_field(PreviewSerializer(allow_null=True))
    def get_filled(self, reply) -> dict | None:
        lead = self.context.get("lead")
        return content_preview(content=reply.text, lead=lead) if lead is not None else None


class CannedReplyChangeSerializer(CannedReplySerializer):
    shared = SharedField(read_only=True, help_text="Whether it is the team's (fixed when it was made).")


class CannedReplyFilters(serializers.Serializer):  # a query string
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Only those whose shortcut starts with it or whose text holds it (case-insensitive).",
    )
    lead = serializers.UUIDField(required=False, help_text="Fill each reply's text for this lead (in `filled`).")


class CannedReplyLeadFilter(serializers.Serializer):  # a query string
    lead = serializers.UUIDField(required=False, help_text="Fill the reply's text for this lead (in `filled`).")


CANNED_REPLY_EXAMPLE = {
    "id": "9a4c6e8f-0b2d-4f47-8a6c-1e3b5d7f9a20",
    "shortcut": "fiyat",
    "text": "Merhaba {{1}}, {{2}} için fiyat listemiz ekte.",
    "shared": True,
    "filled": None,
    "created_at": "2027-02-01T09:00:00+03:00",
    "updated_at": "2027-02-01T09:00:00+03:00",
}
CANNED_REPLY_FILLED_EXAMPLE = {
    **CANNED_REPLY_EXAMPLE,
    "filled": {"text": "Merhaba Ayşe, 12.06.2027 için fiyat listemiz ekte.", "missing": []},
}
CANNED_REPLY_PERMISSIONS = """Any user who may send messages reads the team's replies and their own, and makes,
changes and deletes their own; the team's (shared) ones need `templates_app.add_cannedreply`, `change_cannedreply`
or `delete_cannedreply`. Another agent's own replies are not shown (404)."""


@extend_schema_view(
    list=extend_schema(
        summary="List canned replies",
        description="The replies the caller can pick in the composer: the team's and their own, by shortcut (their "
        "own first where both share one), a page at a time. With `lead`, each one filled for that lead.\n\n"
        + CANNED_REPLY_PERMISSIONS,
        parameters=[CannedReplyFilters],
        examples=[OpenApiExample("Filled for a lead", value=CANNED_REPLY_FILLED_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="A canned reply",
        description="One of the team's replies or the caller's own; with `lead`, filled for that lead.",
        parameters=[CannedReplyLeadFilter],
        examples=[OpenApiExample("A reply", value=CANNED_REPLY_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Create a canned reply",
        description="The caller's own, or with `shared: true` the team's (needs `templates_app.add_cannedreply`). "
        "A shortcut already taken (among the team's, or among the caller's own) is refused with code `duplicate`. "
        "Honours `Idempotency-Key`.\n\n" + CANNED_REPLY_PERMISSIONS,
        request=CannedReplySerializer,
        responses={201: CannedReplySerializer},
        examples=[
            OpenApiExample(
                "One's own", value={"shortcut": "adres", "text": "Adresimiz: Bağdat Caddesi 12"}, request_only=True
            ),
            OpenApiExample(
                "The team's",
                value={"shortcut": "fiyat", "text": CANNED_REPLY_EXAMPLE["text"], "shared": True},
                request_only=True,
            ),
            OpenApiExample("Created", value=CANNED_REPLY_EXAMPLE, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "A shortcut taken",
                value={
                    "error": {
                        "code": "duplicate",
                        "message": "This shortcut is taken; choose another.",
                        "fields": {"shortcut": ["This shortcut is taken; choose another."]},
                    }
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    ),
    partial_update=extend_schema(
        summary="Change a canned reply",
        description="Its shortcut or text: the caller's own, or one of the team's with "
        "`templates_app.change_cannedreply`.",
        request=CannedReplyChangeSerializer,
        responses={200: CannedReplySerializer},
        examples=[
            OpenApiExample("A new text", value={"text": "Fiyat listemiz ekte, {{1}}."}, request_only=True),
            OpenApiExample("Changed", value=CANNED_REPLY_EXAMPLE, response_only=True),
        ],
    ),
    destroy=extend_schema(
        summary="Delete a canned reply",
        description="The caller's own, or one of the team's with `templates_app.delete_cannedreply`.",
        responses={204: None},
    ),
)
class CannedReplyViewSet(viewsets.ModelViewSet):
    """The canned replies the caller can pick: the team's and their own (templates_app.selectors), changed through
    the same services as the agent's page and the admin."""

    serializer_class = CannedReplySerializer
    permission_classes = [api_permission(SEND_MESSAGE)]
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete"]
    # What the team's shared replies need beyond sending, per action; one's own need nothing more.
    SHARED = {"create": ADD_SHARED_REPLY, "partial_update": CHANGE_SHARED_REPLY, "destroy": DELETE_SHARED_REPLY}

    def get_queryset(self):
        return canned_replies_for(user=self.request.user, query=getattr(self, "query", ""))

    def get_serializer_class(self):
        return CannedReplyChangeSerializer if self.action == "partial_update" else CannedReplySerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "lead": getattr(self, "lead", None)}

    def _read_filters(self, filters_class) -> None:
        filters = filters_class(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        self.query = filters.validated_data.get("q", "")
        if (lead_id := filters.validated_data.get("lead")) is not None:
            self.lead = Lead.objects.filter(pk=lead_id).first()
            if self.lead is None:
                raise BadRequest({"lead": [_("No such lead.")]})

    def _may_change(self, *, shared: bool) -> None:
        if shared and not has_perms(self.request.user, self.SHARED[self.action]):
            raise PermissionDenied(_("You may not change the team's canned replies, only your own."))

    def list(self, request, *args, **kwargs):
        self._read_filters(CannedReplyFilters)
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        self._read_filters(CannedReplyLeadFilter)
        return super().retrieve(request, *args, **kwargs)

    def _save(self, reply: CannedReply, serializer) -> None:
        try:
            canned_reply_save(reply=reply)
        except DjangoValidationError as exc:
            raise validation_refusal(exc) from None
        serializer.instance = reply

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        shared = data.pop("shared", False)
        self._may_change(shared=shared)
        self._save(CannedReply(owner=None if shared else self.request.user, **data), serializer)

    def perform_update(self, serializer):
        reply = serializer.instance
        self._may_change(shared=reply.owner_id is None)
        for name, value in serializer.validated_data.items():
            setattr(reply, name, value)
        self._save(reply, serializer)

    def perform_destroy(self, instance):
        self._may_change(shared=instance.owner_id is None)
        canned_reply_delete(reply=instance)


routes = [("templates", TemplateViewSet, "template"), ("canned-replies", CannedReplyViewSet, "canned-reply")]

urlpatterns = [  # before the router's: `templates/sync` is not a template's id
    path("templates/sync", TemplateSyncView.as_view(), name="templates-sync"),
    path("templates/<uuid:pk>/preview", TemplatePreviewView.as_view(), name="template-preview"),
]

spec_urlpatterns = [  # the spec's paths under /api/, through happycrm.api_urls
    path("templates/sync-missing", TemplateSyncView.as_view(), name="templates-sync"),
    path("templates/<uuid:pk>/preview", TemplatePreviewView.as_view(), name="template-preview"),
]
