"""The leads API: the leads (listed, filtered and searched; made and edited through the admin's service), the
stages of the pipeline (under the model's rules, through the admin's services), and the labels (made, changed and
deleted, and a lead's set, through the services the admin and the inbox use).

An app that holds more about leads serves the lead resource with a view of its own built on this one, as its admin
does: messaging adds the filters its messages answer (channel, starred), privacy the delete (erasure). Leads
knows nothing of them."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import (
    ADD_LABEL,
    ADD_LEAD,
    ADD_STAGE,
    CHANGE_LABEL,
    CHANGE_STAGE,
    DELETE_LABEL,
    DELETE_STAGE,
    EDIT_LEAD,
    VIEW_LABELS,
    VIEW_LEADS,
    VIEW_STAGES,
    api_permission,
)
from happycrm.rest import serializers as rest
from happycrm.rest.errors import ApiError, validation_refusal

from .models import Label, LabelColour, Lead, Stage
from .phones import MAX_INPUT_LENGTH, normalize_phone
from .selectors import leads_list
from .services import (
    DuplicatePhone,
    label_delete,
    label_save,
    lead_labels_set,
    lead_save,
    stage_delete,
    stage_save,
)

ANY_ID = "[^/]+"
LABEL_EXAMPLE = {"id": "c3a9e1f2-4b6d-4e8a-9c0f-1a2b3c4d5e6f", "name": "VIP", "colour": LabelColour.PURPLE.value}
LEAD_EXAMPLE = {
    "id": "0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21",
    "name": "Ayşe Yılmaz",
    "phone": "+905551234567",
    "phone_display": "+90 555 123 45 67",
    "email": "ayse@example.com",
    "stage": "6a1c8f0e-2b7d-4e9a-8c3f-1d2e3f4a5b6c",
    "stage_name": "New",
    "event_date": "2027-06-12",
    "event_time": "19:30:00",
    "location": "İstanbul",
    "is_unregistered": False,
    "unread_count": 2,
    "last_message_at": "2027-03-01T10:15:00+03:00",
    "last_inbound_at": "2027-03-01T10:15:00+03:00",
    "opted_out_at": None,
    "labels": [LABEL_EXAMPLE],
    "created_at": "2027-02-20T09:00:00+03:00",
    "updated_at": "2027-03-01T10:15:00+03:00",
}
STAGE_EXAMPLE = {
    "id": "6a1c8f0e-2b7d-4e9a-8c3f-1d2e3f4a5b6c",
    "name": "New",
    "position": 0,
    "is_default": True,
    "lead_count": 42,
}


def bad_request(exc: DjangoValidationError) -> BadRequest:
    """A model's or a service's refusal (full_clean) as the API's validation error, field by field."""
    return BadRequest(serializers.as_serializer_error(exc))


class PhoneField(serializers.CharField):
    """A phone in any form a person writes it (`0555 123 45 67`, `+90 555 …`, `whatsapp:+90…`), stored and answered
    in E.164 through the one parser every screen uses."""

    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_INPUT_LENGTH, allow_null=True, allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data).strip()
        if not text:
            return None
        try:
            return normalize_phone(text)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$", "example": "19:30:00"})
class LocalTimeField(serializers.TimeField):
    """A time of day without an offset (`19:30:00`): the schema's `format: time` would demand one (RFC 3339)."""


class LabelSerializer(rest.ModelSerializer):
    name = serializers.CharField(
        max_length=Label._meta.get_field("name").max_length,
        help_text="Unique whatever its case and accents (`vip` is `VIP`); spaces inside are made single.",
    )
    colour = serializers.ChoiceField(
        choices=LabelColour.choices,
        required=False,
        help_text="One of the palette's colours (light backgrounds for dark text); grey when not given.",
    )

    class Meta:
        model = Label
        fields = ["id", "name", "colour"]
        validators = []  # the service's rules decide (label_save), as in the admin
        extra_kwargs = {"id": {"help_text": "The label's id."}}


class LeadSerializer(rest.ModelSerializer):
    labels = LabelSerializer(
        many=True, read_only=True, help_text="The lead's labels, by name (set them with PUT …/labels)."
    )
    phone = PhoneField(
        required=False,
        help_text=_(
            "Any form a person writes (`0555 123 45 67`, `+90 555 123 45 67`); answered in E.164 "
            "(`+905551234567`). Empty or null: no phone. A number another lead has is refused (code `duplicate`)."
        ),
    )
    phone_display = serializers.CharField(read_only=True, help_text=_("The phone as a person reads it."))
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(),
        required=False,
        help_text=_("The stage's id; a new lead without one lands in the default stage."),
    )
    stage_name = serializers.CharField(source="stage.name", read_only=True, help_text=_("The stage's name."))
    event_time = LocalTimeField(
        required=False, allow_null=True, help_text=_("The time of the lead's event (`19:30`), or null.")
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "name",
            "phone",
            "phone_display",
            "email",
            "stage",
            "stage_name",
            "event_date",
            "event_time",
            "location",
            "is_unregistered",
            "unread_count",
            "last_message_at",
            "last_inbound_at",
            "opted_out_at",
            "labels",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "is_unregistered",
            "unread_count",
            "last_message_at",
            "last_inbound_at",
            "opted_out_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "id": {"help_text": _("The lead's id.")},
            "name": {"help_text": _("The lead's name.")},
            "email": {"help_text": _("An e-mail address, or empty.")},
            "event_date": {"help_text": _("The day of the lead's event, or null.")},
            "location": {"help_text": _("Where the event takes place, or empty.")},
            "is_unregistered": {"help_text": _("Created automatically from a message by an unknown number.")},
            "unread_count": {"help_text": _("Messages from the lead no agent has read yet.")},
            "last_message_at": {"help_text": _("The newest message's time, either way; null before any.")},
            "last_inbound_at": {"help_text": _("The lead's newest message's time (WhatsApp's 24-hour window).")},
            "opted_out_at": {"help_text": _("When the lead sent STOP; null when they may be messaged.")},
            "created_at": {"help_text": _("When the lead was created.")},
            "updated_at": {"help_text": _("When the lead last changed.")},
        }


class LeadFilters(serializers.Serializer):  # a query string: text, read as DRF reads forms
    """The lead list's query parameters, checked (a bad value is 400, never an empty list)."""

    stage = serializers.UUIDField(required=False, help_text=_("Only the leads in this stage (its id)."))
    unread = serializers.BooleanField(
        required=False, help_text=_("true: only leads with unread messages; false: only those without.")
    )
    opted_out = serializers.BooleanField(
        required=False, help_text=_("true: only leads who opted out (sent STOP); false: only those who did not.")
    )
    created_since = serializers.DateTimeField(
        required=False, help_text=_("Only leads created at or after this time (ISO 8601, e.g. 2027-03-01T00:00:00Z).")
    )
    updated_since = serializers.DateTimeField(
        required=False, help_text=_("Only leads changed at or after this time (ISO 8601): what changed since a sync.")
    )
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text=_(
            "A phone in any form (`0555 123 45 67`, `+90555…`, `90555…`: the exact number or its last 10 digits), "
            "or words that must each be in the name or the phone, as the inbox's search box reads them."
        ),
    )


LEAD_REQUEST_EXAMPLE = OpenApiExample(
    "A lead",
    value={"name": "Ayşe Yılmaz", "phone": "0555 123 45 67", "email": "ayse@example.com", "event_date": "2027-06-12"},
    request_only=True,
)
LEAD_RESPONSE_EXAMPLE = OpenApiExample("A lead", value=LEAD_EXAMPLE, response_only=True)
DUPLICATE_EXAMPLE = OpenApiExample(
    "A phone another lead has",
    value={
        "error": {
            "code": "duplicate",
            "message": "Another lead already has this phone number.",
            "fields": {"phone": ["Another lead already has this phone number."]},
            "lead_id": LEAD_EXAMPLE["id"],
        }
    },
    response_only=True,
    status_codes=["400"],
)


@extend_schema_view(
    list=extend_schema(
        summary=_("List leads"),
        description=_(
            "Leads, newest first, a page at a time (`page`, `page_size` up to 200), narrowed by the filters given."
        ),
        parameters=[LeadFilters],
        examples=[LEAD_RESPONSE_EXAMPLE],
    ),
    retrieve=extend_schema(summary=_("A lead"), description=_("One lead by its id."), examples=[LEAD_RESPONSE_EXAMPLE]),
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Leads. Each action needs the admin's permission for it: view, add or change a lead."""

    serializer_class = LeadSerializer
    filters_class = LeadFilters
    lookup_value_regex = ANY_ID  # a malformed id reaches the view: 404 in the error format, not the router's page
    permissions_by_action = {
        "list": VIEW_LEADS,
        "retrieve": VIEW_LEADS,
        "create": ADD_LEAD,
        "update": EDIT_LEAD,
        "partial_update": EDIT_LEAD,
    }

    def get_permissions(self):
        return [api_permission(self.permissions_by_action.get(self.action, VIEW_LEADS))()]

    def get_queryset(self):
        return Lead.objects.select_related("stage").prefetch_related("labels")

    def filter_leads(self, filters: dict):
        """The list for the checked query parameters; a view built on this one adds its own."""
        return leads_list(
            stage_id=filters.get("stage"),
            unread=filters.get("unread"),
            opted_out=filters.get("opted_out"),
            created_since=filters.get("created_since"),
            updated_since=filters.get("updated_since"),
            search=filters.get("search", ""),
        )

    def list(self, request, *args, **kwargs):
        filters = self.filters_class(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(self.filter_leads(filters.validated_data))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _save(self, lead: Lead) -> None:
        if lead.stage_id is None:
            raise ApiError(
                _("There is no default stage for new leads: give a stage, or make one the default."),
                code="no_default_stage",
                fields={"stage": [_("This field is required: there is no default stage.")]},
            )
        try:
            lead_save(lead=lead)
        except DuplicatePhone as exc:
            raise ApiError(
                str(exc), code="duplicate", fields={"phone": [str(exc)]}, lead_id=str(exc.existing.pk)
            ) from None

    @extend_schema(
        summary=_("Create a lead"),
        description=_(
            "A new lead, in the default stage unless `stage` is given. The phone is stored in E.164; a number "
            "another lead already has is refused with code `duplicate` and that lead's id in `lead_id`."
        ),
        request=LeadSerializer,
        responses={201: LeadSerializer},
        examples=[LEAD_REQUEST_EXAMPLE, LEAD_RESPONSE_EXAMPLE, DUPLICATE_EXAMPLE],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = Lead(**form.validated_data)
        self._save(lead)
        return Response(self.get_serializer(lead).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("Replace a lead's details"),
        description=_("Every editable field (`name` required); the others are kept. A taken phone is `duplicate`."),
        request=LeadSerializer,
        responses={200: LeadSerializer},
        examples=[LEAD_REQUEST_EXAMPLE, LEAD_RESPONSE_EXAMPLE, DUPLICATE_EXAMPLE],
    )
    def update(self, request, *args, partial=False, **kwargs):
        lead = self.get_object()
        form = self.get_serializer(lead, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        for name, value in form.validated_data.items():
            setattr(lead, name, value)
        self._save(lead)
        return Response(self.get_serializer(lead).data)

    @extend_schema(
        summary=_("Change some of a lead's details"),
        description=_("Only the fields given change. A taken phone is `duplicate`."),
        request=LeadSerializer,
        responses={200: LeadSerializer},
        examples=[
            OpenApiExample("A new stage", value={"stage": STAGE_EXAMPLE["id"]}, request_only=True),
            LEAD_RESPONSE_EXAMPLE,
            DUPLICATE_EXAMPLE,
        ],
    )
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


class StageSerializer(rest.ModelSerializer):
    lead_count = serializers.IntegerField(read_only=True, help_text=_("How many leads are in this stage."))

    class Meta:
        model = Stage
        fields = ["id", "name", "position", "is_default", "lead_count"]
        validators = []  # the model's rules decide (stage_save's full_clean), as in the admin
        extra_kwargs = {
            "id": {"help_text": _("The stage's id.")},
            "name": {"help_text": _("Unique."), "validators": []},  # full_clean checks it, as in the admin
            "position": {"help_text": _("Stages are listed by position, then name."), "max_value": 2**31 - 1},
            "is_default": {
                "validators": [],  # making a stage the default takes the flag: not a uniqueness error
                "help_text": _(
                    "New leads land in the default stage; exactly one stage is. Making a stage the default takes "
                    "the flag from the previous one; the default cannot be unmade, only replaced."
                ),
            },
        }


STAGE_REQUEST_EXAMPLE = OpenApiExample(
    "A stage", value={"name": "Offer sent", "position": 2, "is_default": False}, request_only=True
)
STAGE_RESPONSE_EXAMPLE = OpenApiExample("A stage", value=STAGE_EXAMPLE, response_only=True)


@extend_schema_view(
    list=extend_schema(
        summary=_("List stages"),
        description=_("The pipeline's stages in order, each with its number of leads."),
        examples=[STAGE_RESPONSE_EXAMPLE],
    ),
    retrieve=extend_schema(summary=_("A stage"), examples=[STAGE_RESPONSE_EXAMPLE]),
    create=extend_schema(
        summary=_("Create a stage"),
        description=_("A new stage; with `is_default` true it becomes the default (the previous one is no more)."),
        examples=[STAGE_REQUEST_EXAMPLE, STAGE_RESPONSE_EXAMPLE],
    ),
    update=extend_schema(
        summary=_("Replace a stage"),
        description=_("Refused when it would leave no default stage."),
        examples=[STAGE_REQUEST_EXAMPLE, STAGE_RESPONSE_EXAMPLE],
    ),
    partial_update=extend_schema(
        summary=_("Change a stage"),
        description=_("Refused when it would leave no default stage."),
        examples=[STAGE_REQUEST_EXAMPLE, STAGE_RESPONSE_EXAMPLE],
    ),
    destroy=extend_schema(
        summary=_("Delete a stage"),
        responses={
            204: None,
            400: OpenApiResponse(
                {"$ref": "#/components/schemas/Error"}, description=_("The default stage, or a stage with leads.")
            ),
        },
        description=_(
            "Refused (400) for the default stage (code `default_stage`) and a stage with leads (code `stage_in_use`)."
        ),
    ),
)
class StageViewSet(viewsets.ModelViewSet):
    """The pipeline's stages, under the model's rules (Stage.clean, through stage_save) as in the admin."""

    serializer_class = StageSerializer
    lookup_value_regex = ANY_ID
    permissions_by_action = {
        "list": VIEW_STAGES,
        "retrieve": VIEW_STAGES,
        "create": ADD_STAGE,
        "update": CHANGE_STAGE,
        "partial_update": CHANGE_STAGE,
        "destroy": DELETE_STAGE,
    }

    def get_permissions(self):
        return [api_permission(self.permissions_by_action.get(self.action, VIEW_STAGES))()]

    def get_queryset(self):
        return Stage.objects.annotate(lead_count=Count("leads")).order_by("position", "name", "pk")

    def perform_create(self, serializer):
        self._save(Stage(**serializer.validated_data), serializer)

    def perform_update(self, serializer):
        stage = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(stage, name, value)
        self._save(stage, serializer)

    def _save(self, stage: Stage, serializer) -> None:
        try:
            stage_save(stage=stage)
        except DjangoValidationError as exc:
            raise bad_request(exc) from None
        serializer.instance = self.get_queryset().get(pk=stage.pk)  # with its lead count

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_destroy(self, instance):
        try:
            stage_delete(stage=instance)
        except DjangoValidationError as exc:
            raise ApiError(" ".join(exc.messages), code=exc.code) from None


LABEL_RESPONSE_EXAMPLE = OpenApiExample("A label", value=LABEL_EXAMPLE, response_only=True)
LABEL_DUPLICATE_EXAMPLE = OpenApiExample(
    "A name another label has",
    value={
        "error": {
            "code": "duplicate",
            "message": "A label with this name exists already.",
            "fields": {"name": ["A label with this name exists already."]},
        }
    },
    response_only=True,
    status_codes=["400"],
)


@extend_schema_view(
    list=extend_schema(
        summary="List labels",
        description="Every label, by name. Needs `leads.view_label`.",
        examples=[LABEL_RESPONSE_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="A label", description="Needs `leads.view_label`.", examples=[LABEL_RESPONSE_EXAMPLE]
    ),
    create=extend_schema(
        summary="Create a label",
        description=(
            "A name no other label has, whatever its case and accents (`vip` is `VIP`, `dugun` is `Düğün`: refused "
            "with code `duplicate`), and a colour of the palette. Needs `leads.add_label`."
        ),
        examples=[
            OpenApiExample("A label", value={"name": "VIP", "colour": LabelColour.PURPLE.value}, request_only=True),
            OpenApiExample("Created", value=LABEL_EXAMPLE, response_only=True, status_codes=["201"]),
            LABEL_DUPLICATE_EXAMPLE,
        ],
    ),
    partial_update=extend_schema(
        summary="Change a label",
        description=(
            "Its name or colour; the leads that have it show the change. A taken name is `duplicate`. Needs "
            "`leads.change_label`."
        ),
        examples=[
            OpenApiExample("A new colour", value={"colour": LabelColour.GREEN.value}, request_only=True),
            LABEL_RESPONSE_EXAMPLE,
            LABEL_DUPLICATE_EXAMPLE,
        ],
    ),
    destroy=extend_schema(
        summary="Delete a label",
        description="Taken off every lead that has it, then deleted. Needs `leads.delete_label`.",
        responses={204: None},
    ),
)
class LabelViewSet(viewsets.ModelViewSet):
    """The labels put on leads, under the service's rules (label_save, label_delete) as in the admin."""

    serializer_class = LabelSerializer
    lookup_value_regex = ANY_ID
    http_method_names = ["get", "post", "patch", "delete"]
    permissions_by_action = {
        "list": VIEW_LABELS,
        "retrieve": VIEW_LABELS,
        "create": ADD_LABEL,
        "partial_update": CHANGE_LABEL,
        "destroy": DELETE_LABEL,
    }

    def get_permissions(self):
        return [api_permission(self.permissions_by_action.get(self.action, VIEW_LABELS))()]

    def get_queryset(self):
        return Label.objects.order_by("name", "pk")

    def perform_create(self, serializer):
        self._save(Label(**serializer.validated_data), serializer)

    def perform_update(self, serializer):
        label = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(label, name, value)
        self._save(label, serializer)

    def _save(self, label: Label, serializer) -> None:
        try:
            label_save(label=label)
        except DjangoValidationError as exc:
            raise validation_refusal(exc) from None
        serializer.instance = label

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_destroy(self, instance):
        label_delete(label=instance)


class LeadLabelsInputSerializer(rest.Serializer):
    labels = serializers.ListField(
        child=serializers.UUIDField(),
        max_length=200,
        help_text="The ids of every label the lead is to have (an empty list takes them all off).",
    )


class LeadLabelsSerializer(rest.Serializer):
    lead = serializers.UUIDField(help_text="The lead's id.")
    labels = LabelSerializer(many=True, help_text="The lead's labels now, by name.")
    changed = serializers.BooleanField(help_text="Whether this request changed them.")


class LeadLabelsView(APIView):
    """A lead's labels set at once (the lead's `labels` shows them): the inbox's and the admin's service."""

    permission_classes = [api_permission(EDIT_LEAD)]

    @extend_schema(
        tags=["labels"],
        summary="Set a lead's labels",
        description=(
            "The lead's labels become exactly those listed (in any order, a repeat counted once); every screen "
            "showing the lead follows. An id that is no label's is refused (400) and nothing changes. Needs "
            "`leads.change_lead`, as the conversation's panel does."
        ),
        request=LeadLabelsInputSerializer,
        responses={200: LeadLabelsSerializer},
        examples=[
            OpenApiExample(
                "Two labels",
                value={"labels": [LABEL_EXAMPLE["id"], "5d7e9f1a-3b5c-4d6e-8f0a-2b4c6d8e0f1a"]},
                request_only=True,
            ),
            OpenApiExample(
                "Set",
                value={
                    "lead": LEAD_EXAMPLE["id"],
                    "labels": [
                        LABEL_EXAMPLE,
                        {
                            "id": "5d7e9f1a-3b5c-4d6e-8f0a-2b4c6d8e0f1a",
                            "name": "Wedding",
                            "colour": LabelColour.PINK.value,
                        },
                    ],
                    "changed": True,
                },
                response_only=True,
            ),
        ],
    )
    def put(self, request, pk):
        lead = get_object_or_404(Lead.objects.only("pk", "name"), pk=pk)
        form = LeadLabelsInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        wanted = set(form.validated_data["labels"])
        labels = list(Label.objects.filter(pk__in=wanted))
        if unknown := wanted - {label.pk for label in labels}:
            message = _("No such label: %(ids)s.") % {"ids": ", ".join(sorted(str(pk) for pk in unknown))}
            raise ApiError(message, code="validation_error", fields={"labels": [message]})
        changed = lead_labels_set(lead=lead, labels=labels)
        now = Label.objects.filter(leads=lead).order_by("name", "pk")
        return Response({"lead": lead.pk, "labels": LabelSerializer(now, many=True).data, "changed": changed})


routes = [
    ("leads", LeadViewSet, "lead"),
    ("stages", StageViewSet, "stage"),
    ("labels", LabelViewSet, "label"),
]

urlpatterns = [  # under /api/v1/, through happycrm.api_urls
    path("leads/<uuid:pk>/labels", LeadLabelsView.as_view(), name="lead-labels"),
]
