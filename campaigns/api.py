"""The campaigns API: campaigns with their progress, made (or tried in a dry run) for leads or a stage, and
canceled, through the services the lead list's action, the admin and `manage.py send_campaign` use."""

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
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.response import Response

from accounts.idempotency import idempotent
from accounts.permissions import RUN_CAMPAIGN, START_CAMPAIGN, VIEW_CAMPAIGNS, api_permission
from happycrm.audit import audit_record
from happycrm.rest import serializers as rest
from happycrm.rest.errors import ApiError
from leads.models import Label, Lead, Stage
from messaging.models import Channel, MessageStatus
from messaging.services.outbound import SendRefused
from templates_app.models import Template
from templates_app.rendering import MAX_EXTRA

from .models import Campaign, CampaignRecipient
from .selectors import campaign_audit_message, campaign_progress, campaigns_progress
from .services import campaign_cancel, campaign_create, campaign_dry_run

MAX_LEAD_IDS = 10_000  # more at once: a stage
UUID_PATTERN = "[0-9a-fA-F-]{32,36}"
R = CampaignRecipient.Outcome
SKIPPED = [R.SKIPPED_OPTED_OUT, R.SKIPPED_NO_PHONE, R.SKIPPED_REFUSED]

PROGRESS_EXAMPLE = {
    "total": 1200,
    "pending": 0,
    "queued": 40,
    "sent": 1100,
    "failed": 12,
    "skipped": 48,
    "canceled": 0,
    "attention": 0,
    "final": 960,
    "unconfirmed": 240,
    "percent": 97,
    "finished": False,
    "outcomes": {
        "pending": 0,
        "queued": 1152,
        "skipped_opted_out": 30,
        "skipped_no_phone": 10,
        "skipped_refused": 8,
        "canceled": 0,
    },
    "message_statuses": {"queued": 40, "sent": 200, "delivered": 700, "read": 200, "failed": 12},
    "estimated_end": "2026-12-01T10:05:30+03:00",
}
CAMPAIGN_EXAMPLE = {
    "id": "8d0f1c2e-5b3a-4c7d-9e8f-0a1b2c3d4e5f",
    "name": "Kış kampanyası",
    "template": "3f2b8d1e-7c4a-4e59-9b1d-2a6c8e0f4d13",
    "template_name": "kis_kampanyasi",
    "parameters": ["KIS26"],
    "status": "running",
    "start_at": None,
    "created_by": 3,
    "created_at": "2026-12-01T10:00:00+03:00",
    "started_at": "2026-12-01T10:00:01+03:00",
    "run_completed_at": "2026-12-01T10:00:09+03:00",
    "finished_at": None,
    "progress": PROGRESS_EXAMPLE,
}
CREATE_EXAMPLE = {
    "name": "Kış kampanyası",
    "template": "3f2b8d1e-7c4a-4e59-9b1d-2a6c8e0f4d13",
    "lead_ids": ["0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21", "1c6f7b9f-4a2e-4d66-8b54-7a4a3a8a0d32"],
    "parameters": ["KIS26"],
}


class ProgressSerializer(rest.Serializer):
    total = serializers.IntegerField(help_text=gettext_lazy("Recipients."))
    pending = serializers.IntegerField(help_text=gettext_lazy("Not yet given a message by the run."))
    queued = serializers.IntegerField(help_text=gettext_lazy("Given a message the provider has not taken yet."))
    sent = serializers.IntegerField(help_text=gettext_lazy("Taken by the provider (sent, delivered or read)."))
    failed = serializers.IntegerField(help_text=gettext_lazy("Failed or undelivered."))
    skipped = serializers.IntegerField(help_text=gettext_lazy("Skipped: opted out, no phone, or cannot be sent."))
    canceled = serializers.IntegerField(help_text=gettext_lazy("Canceled before their message was sent."))
    attention = serializers.IntegerField(help_text=gettext_lazy("Messages whose outcome is unknown (check them)."))
    final = serializers.IntegerField(
        help_text=gettext_lazy("Recipients whose outcome is final: delivered, read, failed, skipped or canceled.")
    )
    unconfirmed = serializers.IntegerField(
        help_text=gettext_lazy(
            "Given a message with no final delivery report yet (queued or sent). A report can be lost or never come: "
            "a campaign waiting only for these finishes without them once its run completed CAMPAIGN_SETTLE_HOURS "
            "ago (72 by default); a report that comes later still updates its message."
        )
    )
    percent = serializers.IntegerField(help_text=gettext_lazy("Share sent, failed, skipped or canceled."))
    finished = serializers.BooleanField(
        help_text=gettext_lazy(
            "Every recipient's outcome is final, or the wait for the delivery reports still missing is over (see "
            "`unconfirmed`)."
        )
    )
    outcomes = rest.CountsField(
        help_text=gettext_lazy("Recipients per outcome: %(values)s.") % {"values": ", ".join(R.values)}
    )
    message_statuses = rest.CountsField(
        help_text=gettext_lazy("The campaign's messages per status: %(values)s.")
        % {"values": ", ".join(MessageStatus.values)}
    )
    estimated_end = serializers.DateTimeField(
        allow_null=True,
        help_text=gettext_lazy(
            "When the last message should be handed to the provider at the senders' rates (pending recipients "
            "counted on WhatsApp); null when nothing is left to send."
        ),
    )


class CampaignSerializer(rest.ModelSerializer):
    template_name = serializers.CharField(source="template.name", help_text=gettext_lazy("The template's name."))
    parameters = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("Values for {{4}}, {{5}}, … in order.")
    )
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "template",
            "template_name",
            "parameters",
            "status",
            "start_at",
            "created_by",
            "created_at",
            "started_at",
            "run_completed_at",
            "finished_at",
            "progress",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": gettext_lazy(
                    "scheduled (waits for start_at), running (sending, or waiting for the messages' outcomes), "
                    "done (every outcome final, or the wait for the missing delivery reports over: see "
                    "progress.unconfirmed) or canceled."
                )
            },
            "created_by": {"help_text": gettext_lazy("The user who made it; null for the command line.")},
        }

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, campaign) -> dict:
        progress = self.context.get("progress", {}).get(campaign.pk)
        if progress is None:
            progress = campaign_progress(campaign=campaign)
        return ProgressSerializer({**progress, "finished": campaign.finished_at is not None}).data


class CampaignInputSerializer(rest.Serializer):
    """A campaign as `POST /campaigns` and its dry run take it: a template for a list of leads, or for the leads of a
    stage, of a label or of both."""

    name = serializers.CharField(
        max_length=200, required=False, help_text=gettext_lazy("The campaign's name (default: the template's).")
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=Template.objects.all(),
        pk_field=serializers.UUIDField(),
        help_text=gettext_lazy("An active template; over WhatsApp, one WhatsApp approved."),
    )
    lead_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_empty=False,
        max_length=MAX_LEAD_IDS,
        help_text=gettext_lazy("The leads to send to, each once (at most %(max)d; more: a stage).")
        % {"max": MAX_LEAD_IDS},
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(),
        pk_field=serializers.UUIDField(),
        required=False,
        help_text=gettext_lazy("Send to every lead of this stage (instead of `lead_ids`)."),
    )
    label = serializers.PrimaryKeyRelatedField(
        queryset=Label.objects.all(),
        pk_field=serializers.UUIDField(),
        required=False,
        help_text=gettext_lazy(
            "Send to every lead with this label (instead of `lead_ids`; with `stage`: the stage's leads with it)."
        ),
    )
    parameters = serializers.ListField(
        child=serializers.CharField(max_length=500),
        required=False,
        default=list,
        max_length=MAX_EXTRA,
        help_text=gettext_lazy("Values for {{4}}, {{5}}, … in order."),
    )
    start_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=gettext_lazy("When to start; empty or past: now.")
    )

    def validate_lead_ids(self, lead_ids):
        seen, repeated = set(), []
        for lead_id in lead_ids:
            if lead_id in seen and lead_id not in repeated:
                repeated.append(lead_id)
            seen.add(lead_id)
        if repeated:
            raise BadRequest(_("Repeated ids: %(ids)s.") % {"ids": ", ".join(map(str, repeated))})
        found = set()
        for start in range(0, len(lead_ids), 1000):
            found.update(Lead.objects.filter(pk__in=lead_ids[start : start + 1000]).values_list("pk", flat=True))
        unknown = [str(lead_id) for lead_id in lead_ids if lead_id not in found]
        if unknown:
            raise BadRequest(_("No such leads: %(ids)s.") % {"ids": ", ".join(unknown)})
        return lead_ids

    def validate(self, data):
        if ("lead_ids" in data) == ("stage" in data or "label" in data):
            raise BadRequest({"lead_ids": [_("Give either lead_ids, or a stage and/or a label.")]})
        return data

    def service_arguments(self) -> dict:
        data = self.validated_data
        leads = Lead.objects.filter(pk__in=data["lead_ids"]) if "lead_ids" in data else None
        return {
            "template": data["template"],
            "leads": leads,
            "stage": data.get("stage"),
            "label": data.get("label"),
            "parameters": data["parameters"],
            "start_at": data.get("start_at"),
        }


class SkippedLeadSerializer(rest.Serializer):
    lead = serializers.UUIDField(source="lead.pk", help_text=gettext_lazy("The lead's id."))
    lead_name = serializers.CharField(source="lead.name", help_text=gettext_lazy("The lead's name."))
    outcome = serializers.ChoiceField(choices=SKIPPED, help_text=gettext_lazy("Why it would be skipped."))
    reason = serializers.CharField(help_text=gettext_lazy("What refused the message, for skipped_refused."))


class DryRunSerializer(rest.Serializer):
    total = serializers.IntegerField(help_text=gettext_lazy("Recipients the campaign would have."))
    sent = serializers.IntegerField(help_text=gettext_lazy("Messages it would send."))
    sent_by_channel = rest.CountsField(
        help_text=gettext_lazy("Messages per channel: %(values)s.") % {"values": ", ".join(Channel.values)}
    )
    skipped_count = serializers.IntegerField(help_text=gettext_lazy("Recipients it would skip."))
    skipped_by_outcome = rest.CountsField(help_text=gettext_lazy("Skipped recipients per reason."))
    skipped = SkippedLeadSerializer(many=True, help_text=gettext_lazy("The skipped leads (the first 1000)."))
    skipped_listed_all = serializers.BooleanField(help_text=gettext_lazy("Whether `skipped` lists every one."))
    duration_seconds = serializers.FloatField(help_text=gettext_lazy("Sending time at the senders' configured rates."))
    estimated_start = serializers.DateTimeField(help_text=gettext_lazy("When it would start."))
    estimated_end = serializers.DateTimeField(help_text=gettext_lazy("When its last message would be sent."))


def _refusal(exc: SendRefused) -> ApiError:
    """The template cannot be sent (inactive, not approved): a refusal of the `template` field."""
    return ApiError(exc.message, code=exc.code, fields={"template": [exc.message]})


@extend_schema_view(
    list=extend_schema(
        summary="List campaigns",
        description="Newest first, each with its progress.",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Campaign.Status.values, description="Only these.")
        ],
        examples=[OpenApiExample("A page", value=CAMPAIGN_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One campaign and its progress",
        description=(
            "Counts per recipient outcome and per message status, whether every outcome is final (`finished`), "
            "its times, and while it sends the estimated end."
        ),
        examples=[OpenApiExample("A campaign", value=CAMPAIGN_EXAMPLE, response_only=True)],
    ),
)
class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CampaignSerializer
    lookup_value_regex = UUID_PATTERN
    PERMISSIONS = {"create": START_CAMPAIGN, "dry_run": START_CAMPAIGN, "cancel": RUN_CAMPAIGN}

    def get_permissions(self):
        return [api_permission(self.PERMISSIONS.get(self.action, VIEW_CAMPAIGNS))()]

    def get_queryset(self):
        campaigns = Campaign.objects.select_related("template").order_by("-created_at", "pk")
        if self.action == "list" and (wanted := self.request.query_params.get("status")) is not None:
            if wanted not in Campaign.Status.values:
                raise BadRequest(
                    {"status": [_("Must be one of: %(values)s.") % {"values": ", ".join(Campaign.Status.values)}]}
                )
            campaigns = campaigns.filter(status=wanted)
        return campaigns

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), "progress": campaigns_progress(campaigns=page)}
        return self.get_paginated_response(CampaignSerializer(page, many=True, context=context).data)

    @extend_schema(
        summary="Create and start a campaign",
        description=(
            "The template to `lead_ids` or to every lead of `stage`, each lead once. It starts at once, or at "
            "`start_at`. Leads who opted out, have no phone or cannot be sent the template are skipped with the "
            "reason (see the dry run). 400 for an unknown, repeated or missing lead id, an inactive or unapproved "
            "template, or more than 10000 ids."
        ),
        request=CampaignInputSerializer,
        responses={201: CampaignSerializer},
        examples=[
            OpenApiExample("To two leads", value=CREATE_EXAMPLE, request_only=True),
            OpenApiExample("Created", value=CAMPAIGN_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def create(self, request):
        form = CampaignInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        arguments = form.service_arguments()
        try:
            campaign = campaign_create(
                name=form.validated_data.get("name") or arguments["template"].name,
                created_by=request.user,
                **arguments,
            )
        except SendRefused as exc:
            raise _refusal(exc) from None
        audit_record(user=request.user, message=campaign_audit_message(campaign), objects=[campaign])
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Dry run: what a campaign would do",
        description=(
            "Takes the same body as creating a campaign and creates nothing: who would be skipped and why (the "
            "run's own checks: opted out, no phone, the template cannot be sent to them), how many messages would "
            "be sent on each channel, and how long sending them takes at the senders' configured rates."
        ),
        request=CampaignInputSerializer,
        responses={200: DryRunSerializer},
        examples=[
            OpenApiExample("To two leads", value=CREATE_EXAMPLE, request_only=True),
            OpenApiExample(
                "One would be skipped",
                value={
                    "total": 2,
                    "sent": 1,
                    "sent_by_channel": {"whatsapp": 1},
                    "skipped_count": 1,
                    "skipped_by_outcome": {"skipped_opted_out": 1, "skipped_no_phone": 0, "skipped_refused": 0},
                    "skipped": [
                        {
                            "lead": "1c6f7b9f-4a2e-4d66-8b54-7a4a3a8a0d32",
                            "lead_name": "Can Demir",
                            "outcome": "skipped_opted_out",
                            "reason": "",
                        }
                    ],
                    "skipped_listed_all": True,
                    "duration_seconds": 0.0128,
                    "estimated_start": "2026-12-01T10:00:00+03:00",
                    "estimated_end": "2026-12-01T10:00:00+03:00",
                },
                response_only=True,
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="dry-run", url_name="dry-run")
    def dry_run(self, request):
        form = CampaignInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            result = campaign_dry_run(**form.service_arguments())
        except SendRefused as exc:
            raise _refusal(exc) from None
        return Response(DryRunSerializer({**result, "duration_seconds": result["duration"].total_seconds()}).data)

    @extend_schema(
        summary="Cancel a campaign",
        description=(
            "Its pending recipients, and those whose message no worker has handed to the provider yet, are "
            "canceled; messages already sent go on. 409 when it is done or canceled already."
        ),
        request=None,
        responses={
            200: CampaignSerializer,
            409: OpenApiResponse(description="Done or canceled already: nothing to cancel."),
        },
        examples=[OpenApiExample("Canceled", value={**CAMPAIGN_EXAMPLE, "status": "canceled"}, response_only=True)],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request, pk=None):
        campaign = self.get_object()
        try:
            campaign = campaign_cancel(campaign=campaign)
        except SendRefused as exc:
            raise ApiError(exc.message, code=exc.code, status_code=status.HTTP_409_CONFLICT) from None
        audit_record(user=request.user, message=_("Canceled through the API."), objects=[campaign])
        return Response(CampaignSerializer(campaign).data)


routes = [("campaigns", CampaignViewSet, "campaign")]
