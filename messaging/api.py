"""Staff diagnostics: the spec's debug endpoints."""

from django.core.exceptions import ValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import Lead
from leads.phones import normalize_phone

from .models import Message, MessageMedia
from .selectors import leads_for_phone, messages_for_leads, webhook_diagnostics


class WebhookDiagnosticsView(APIView):
    permission_classes = [IsAdminUser]

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
    error_explanation = serializers.CharField()

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


class PhoneMessagesView(APIView):
    """A phone's leads and latest messages; the phone may be written in any form."""

    permission_classes = [IsAdminUser]

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
