"""The messaging API: sending to a lead, the spec's debug endpoints (each with the permission it needs), and the
lead list's filters that a lead's messages answer."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import READ_CONVERSATIONS, READ_DIAGNOSTICS, SEND_MESSAGE, api_permission
from happycrm.rest.errors import ApiError
from leads import api as leads_api
from leads.models import Lead
from leads.phones import normalize_phone
from templates_app.models import Template

from .models import Channel, Message, MessageMedia
from .selectors import (
    leads_for_phone,
    leads_message_filter,
    message_error_explanation,
    messages_for_leads,
    webhook_diagnostics,
)
from .services.outbound import SendRefused, message_send_any


class WebhookDiagnosticsView(APIView):
    permission_classes = [api_permission(READ_DIAGNOSTICS)]

    def get(self, request):
        return Response(webhook_diagnostics())


class LeadSummarySerializer(serializers.ModelSerializer):
    stage = serializers.CharField(source="stage.name")

    class Meta:
        model = Lead
        fields = ["id", "name", "phone", "stage", "unread_count", "last_inbound_at", "opted_out_at"]


class MediaSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url")

    class Meta:
        model = MessageMedia
        fields = ["id", "position", "content_type", "status", "size", "attempts", "error", "url"]


class MessageDebugSerializer(serializers.ModelSerializer):
    lead_id = serializers.UUIDField()
    media = MediaSerializer(many=True)
    error_explanation = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "lead_id",
            "created_at",
            "is_from_lead",
            "channel",
            "status",
            "body",
            "twilio_message_sid",
            "template_name",
            "error_code",
            "error_message",
            "error_explanation",
            "is_read",
            "metadata",
            "media",
        ]

    def get_error_explanation(self, message) -> str:
        return message_error_explanation(message)


class PhoneMessagesView(APIView):
    """A phone's leads and latest messages; the phone may be written in any form."""

    permission_classes = [api_permission(READ_CONVERSATIONS)]

    def get(self, request):
        raw = request.query_params.get("phone", "")
        if not raw.strip():
            raise BadRequest({"phone": ["This query parameter is required."]})
        try:
            e164 = normalize_phone(raw)
        except ValidationError as exc:
            raise BadRequest({"phone": exc.messages}) from None
        leads = list(leads_for_phone(e164=e164))
        return Response(
            {
                "phone": e164,
                "leads": LeadSummarySerializer(leads, many=True).data,
                "messages": MessageDebugSerializer(messages_for_leads(leads=leads), many=True).data,
            }
        )


class SendSerializer(serializers.Serializer):
    # Its length and content are the send service's rules (the page and the admin share them).
    body = serializers.CharField(required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    template = serializers.PrimaryKeyRelatedField(queryset=Template.objects.all(), required=False)
    parameters = serializers.ListField(child=serializers.CharField(max_length=500), required=False, default=list)
    file = serializers.FileField(required=False)


class SentMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "lead", "channel", "status", "body", "template_name", "media_url", "created_at"]


class LeadSendView(APIView):
    """POST a message to a lead: text (`body`), a template (`template`, `parameters`) or a file (`file`,
    with `body` as its caption). The message is queued and sent right after; 400 says why it cannot be."""

    permission_classes = [api_permission(SEND_MESSAGE)]

    def post(self, request, pk):
        lead = get_object_or_404(Lead, pk=pk)
        form = SendSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            message = message_send_any(
                lead=lead,
                body=data["body"],
                template=data.get("template"),
                parameters=data["parameters"],
                upload=data.get("file"),
                channel=data.get("channel"),
                sender=request.user,
            )
        except SendRefused as exc:
            raise ApiError(exc.message, code=exc.code) from None
        return Response(SentMessageSerializer(message).data, status=status.HTTP_201_CREATED)


class LeadFilters(leads_api.LeadFilters):
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text=_("Only leads with messages on this channel (a lead has none of its own: replies go where its "
                    "latest message came from)."),
    )  # fmt: skip
    starred = serializers.BooleanField(
        required=False, help_text=_("true: only leads with a starred message; false: only those without.")
    )


@extend_schema_view(list=extend_schema(parameters=[LeadFilters]))
class LeadViewSet(leads_api.LeadViewSet):
    """The leads app's view, with the filters on what the leads' messages hold (the inbox's own selectors)."""

    filters_class = LeadFilters

    def filter_leads(self, filters: dict):
        return leads_message_filter(
            super().filter_leads(filters), channel=filters.get("channel", ""), starred=filters.get("starred")
        )


routes = [("leads", LeadViewSet, "lead")]  # over the leads app's, which privacy's then extends

spec_urlpatterns = [  # the spec's paths under /api/, through happycrm.api_urls
    path("debug/webhook-diagnostics", WebhookDiagnosticsView.as_view(), name="webhook-diagnostics"),
    path("debug/messages", PhoneMessagesView.as_view(), name="debug-messages"),
    path("leads/<uuid:pk>/messages", LeadSendView.as_view(), name="lead-send"),
]
