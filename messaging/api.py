"""The messaging API: a lead's messages (read newest first by cursor, sent, marked read or unread), starring,
attachments, the spec's debug endpoints (each with the permission it needs), and the lead list's filters that a
lead's messages answer. The spec's paths serve the same views' code."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import (
    CHANGE_MESSAGE,
    READ_CONVERSATIONS,
    READ_DIAGNOSTICS,
    SEND_MESSAGE,
    VIEW_MEDIA,
    api_permission,
)
from happycrm.rest import serializers as rest
from happycrm.rest.errors import ApiError
from happycrm.rest.pagination import KeysetPagination
from leads import api as leads_api
from leads.models import Lead
from leads.phones import normalize_phone
from templates_app.models import Template

from .models import Channel, Message, MessageMedia
from .opt_words import notice as opt_notice
from .selectors import (
    ATTACHMENTS,
    leads_for_phone,
    leads_message_filter,
    message_error_explanation,
    messages_for_leads,
    thread_page,
    webhook_diagnostics,
)
from .services.messages import lead_mark_unread, messages_mark_read, messages_set_starred
from .services.outbound import SendRefused, message_send_any
from .views import media_response

TAG = "messages"
LEAD_ID_EXAMPLE = "8d5e3a52-2f43-4d6c-bb0e-5b8f0c1d9e77"


class DiagnosticsEventsSerializer(rest.Serializer):
    total = serializers.IntegerField(help_text=_("Webhook events stored."))
    pending = serializers.IntegerField(help_text=_("Not processed yet, never tried."))
    retrying = serializers.IntegerField(help_text=_("Not processed yet, tried and to be tried again."))
    failed = serializers.IntegerField(help_text=_("Not processed after every attempt: only a re-run by hand retries."))
    rejected = serializers.IntegerField(help_text=_("Processed as impossible to process."))
    unsigned = serializers.IntegerField(help_text=_("Stored while signature validation was off."))
    processed_by_outcome = rest.CountsField(help_text=_("Processed events per outcome."))


class DiagnosticsEventSerializer(rest.Serializer):
    id = serializers.UUIDField()
    provider = serializers.CharField()
    kind = serializers.CharField(help_text=_("inbound or status."))
    message_sid = serializers.CharField(help_text=_("The provider's message id."))
    status = serializers.CharField(help_text=_("The status it reports, as its provider's parser reads it."))
    received_at = serializers.DateTimeField()
    attempts = serializers.IntegerField()
    outcome = serializers.CharField()
    last_error = serializers.CharField()
    notes = serializers.CharField()


class DiagnosticsMediaFailureSerializer(rest.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    error = serializers.CharField()


class DiagnosticsMediaSerializer(rest.Serializer):
    by_status = rest.CountsField(help_text=_("Attachments per status."))
    recent_failures = DiagnosticsMediaFailureSerializer(many=True)


class DiagnosticsSendsSerializer(rest.Serializer):
    not_handed_off = serializers.IntegerField(help_text=_("Sends the task queue has not accepted."))
    in_queue = serializers.IntegerField(help_text=_("Sends waiting in the task queue, in time."))
    overdue = serializers.IntegerField(help_text=_("Sends waiting past their expected time (the sweep requeues)."))


class DiagnosticsRedisSerializer(rest.Serializer):
    configured = serializers.BooleanField(help_text=_("Whether the cache is Redis."))
    reachable = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)


class DiagnosticsRejectionsSerializer(rest.Serializer):
    today = serializers.IntegerField(allow_null=True, help_text=_("Null when the cache cannot be read."))
    last_7_days = serializers.IntegerField(allow_null=True)


class DiagnosticsSerializer(rest.Serializer):
    events = DiagnosticsEventsSerializer()
    oldest_unprocessed_at = serializers.DateTimeField(allow_null=True)
    recent_failures = DiagnosticsEventSerializer(many=True, help_text=_("The latest events with an error."))
    unmatched_status_callbacks = DiagnosticsEventSerializer(
        many=True, help_text=_("The latest status callbacks for no known message.")
    )
    media = DiagnosticsMediaSerializer()
    sends = DiagnosticsSendsSerializer()
    redis = DiagnosticsRedisSerializer()
    signature_rejections = DiagnosticsRejectionsSerializer(help_text=_("Forged webhook requests refused."))


class WebhookDiagnosticsView(APIView):
    permission_classes = [api_permission(READ_DIAGNOSTICS)]

    @extend_schema(
        tags=["debug"],
        summary="Webhook diagnostics",
        description="The webhook's events by state, what failed lately, status callbacks for no known message, "
        "attachments, sends waiting for a worker, the cache and forged requests refused.",
        responses={200: DiagnosticsSerializer},
        examples=[
            OpenApiExample(
                "One event to retry, one refused",
                value={
                    "events": {
                        "total": 1250,
                        "pending": 2,
                        "retrying": 1,
                        "failed": 0,
                        "rejected": 1,
                        "unsigned": 0,
                        "processed_by_outcome": {
                            "stored": 812,
                            "duplicate": 4,
                            "status_applied": 405,
                            "status_stale": 14,
                            "unmatched": 11,
                            "rejected": 1,
                        },
                    },
                    "oldest_unprocessed_at": "2025-05-02T10:04:58Z",
                    "recent_failures": [
                        {
                            "id": "2c7e9a14-5b3d-4f81-a6c2-8d0e1f3a5b79",
                            "provider": "twilio",
                            "kind": "inbound",
                            "message_sid": "SM7d1f0c2b9a8e4d6f5c3b2a1908e7d6c5",
                            "status": "received",
                            "received_at": "2025-05-02T10:04:58Z",
                            "attempts": 1,
                            "outcome": "",
                            "last_error": "OperationalError: server closed the connection unexpectedly",
                            "notes": "",
                        },
                        {
                            "id": "9f4b2d6e-0a1c-4e37-8b5f-6c2d9e1a3f08",
                            "provider": "twilio",
                            "kind": "inbound",
                            "message_sid": "SM0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d",
                            "status": "received",
                            "received_at": "2025-05-01T18:20:11Z",
                            "attempts": 1,
                            "outcome": "rejected",
                            "last_error": "Unknown channel 'messenger'.",
                            "notes": "",
                        },
                    ],
                    "unmatched_status_callbacks": [
                        {
                            "id": "5d8a1e3c-7f2b-4c60-9e4d-1b3a5c7e9f02",
                            "provider": "twilio",
                            "kind": "status",
                            "message_sid": "SMf15878d5ac4844aa973d31999a0f755f",
                            "status": "delivered",
                            "received_at": "2025-05-02T09:12:40Z",
                            "attempts": 1,
                            "outcome": "unmatched",
                            "last_error": "",
                            "notes": "",
                        }
                    ],
                    "media": {
                        "by_status": {"stored": 96, "pending": 1, "failed": 1},
                        "recent_failures": [
                            {
                                "id": "4a6c8e0f-2b4d-4f68-8a0c-2e4f6a8c0e13",
                                "message_id": "1d3f5b7a-9c2e-4f60-8a4b-6d8f0b2c4e57",
                                "status": "failed",
                                "attempts": 1,
                                "error": "Refused: larger than 16777216 bytes (20971520 announced)",
                            }
                        ],
                    },
                    "sends": {"not_handed_off": 0, "in_queue": 3, "overdue": 0},
                    "redis": {"configured": True, "reachable": True, "error": None},
                    "signature_rejections": {"today": 0, "last_7_days": 4},
                },
            )
        ],
    )
    def get(self, request):
        return Response(webhook_diagnostics())


class LeadSummarySerializer(rest.ModelSerializer):
    stage = serializers.CharField(source="stage.name", help_text=_("The stage's name."))

    class Meta:
        model = Lead
        fields = ["id", "name", "phone", "stage", "unread_count", "last_inbound_at", "opted_out_at"]


class MediaSerializer(rest.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", help_text=_("Where the app serves it (with a login)."))

    class Meta:
        model = MessageMedia
        fields = ["id", "position", "content_type", "status", "size", "attempts", "error", "url"]


class MessageDebugSerializer(rest.ModelSerializer):
    lead_id = serializers.UUIDField()
    media = MediaSerializer(many=True, source="attachments")
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

    @extend_schema_field(OpenApiTypes.STR)
    def get_error_explanation(self, message) -> str:
        return message_error_explanation(message)


class PhoneMessagesSerializer(rest.Serializer):
    phone = serializers.CharField(help_text=_("The phone in E.164."))
    leads = LeadSummarySerializer(many=True)
    messages = MessageDebugSerializer(many=True, help_text=_("Their latest 100 messages, newest first."))


class PhoneMessagesView(APIView):
    """A phone's leads and latest messages; the phone may be written in any form."""

    permission_classes = [api_permission(READ_CONVERSATIONS)]

    @extend_schema(
        tags=["debug"],
        summary="A phone's leads and messages",
        description="Every lead the phone could belong to (the exact number and the last-10-digits fallback) and "
        "their latest 100 messages, with the provider's details.",
        parameters=[
            OpenApiParameter(
                "phone", OpenApiTypes.STR, required=True, description="A phone in any form: `0555 123 45 67`."
            )
        ],
        responses={200: PhoneMessagesSerializer},
        examples=[
            OpenApiExample(
                "A send refused after the 24 hours",
                value={
                    "phone": "+905551234567",
                    "leads": [
                        {
                            "id": LEAD_ID_EXAMPLE,
                            "name": "Deniz Kaya",
                            "phone": "+905551234567",
                            "stage": "New",
                            "unread_count": 0,
                            "last_inbound_at": "2025-05-02T10:00:00Z",
                            "opted_out_at": None,
                        }
                    ],
                    "messages": [
                        {
                            "id": "3e1a5c7b-9d2f-4b68-a0c4-7e9b1d3f5a26",
                            "lead_id": LEAD_ID_EXAMPLE,
                            "created_at": "2025-05-03T11:30:00Z",
                            "is_from_lead": False,
                            "channel": "whatsapp",
                            "status": "failed",
                            "body": "Merhaba Deniz, fiyat listemiz ekte.",
                            "twilio_message_sid": "SM912bf011ffa545d0b43fb9a9d51b0c5a",
                            "template_name": "",
                            "error_code": 63016,
                            "error_message": "Failed to send freeform message because you are outside the allowed "
                            "window.",
                            "error_explanation": "More than 24 hours have passed since the lead's last message: "
                            "only an approved template can be sent.",
                            "is_read": True,
                            "metadata": {},
                            "media": [],
                        }
                    ],
                },
            )
        ],
    )
    def get(self, request):
        raw = request.query_params.get("phone", "")
        if not raw.strip():
            raise BadRequest({"phone": [_("This query parameter is required.")]})
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


class TemplateField(serializers.PrimaryKeyRelatedField):
    """A template by id; an id that is not a UUID is refused like an unknown one (never a server error)."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except ValidationError:
            self.fail("does_not_exist", pk_value=data)


class SendTextSerializer(rest.Serializer):
    # Its length and content are the send service's rules (the page and the admin share them).
    body = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("The text, or the file's caption. Ignored with a template."),
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text=_("Where to send it; by default the lead's usual channel."),
    )
    template = TemplateField(
        queryset=Template.objects.all(),
        required=False,
        help_text=_("A template's id: the template is sent, filled with the lead's values and `parameters`."),
    )
    parameters = serializers.ListField(
        child=serializers.CharField(max_length=500),
        required=False,
        default=list,
        help_text=_("The template's values after the lead's own ({{4}}, {{5}}, …), in order."),
    )


class SendSerializer(SendTextSerializer):
    file = serializers.FileField(
        required=False, help_text=_("An attachment (multipart only), sent with `body` as its caption.")
    )


class SentMessageSerializer(rest.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "lead", "channel", "status", "body", "template_name", "media_url", "created_at"]


class MessageMediaSerializer(rest.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = MessageMedia
        fields = ["id", "url", "content_type", "size", "status"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, media) -> str:
        """Where the API serves the file (with a token or a login, and the permission to view attachments)."""
        request = self.context.get("request")
        path_ = reverse("api:v1:media-file", args=[media.pk])
        return request.build_absolute_uri(path_) if request is not None else path_


class LocationSerializer(rest.Serializer):
    latitude = serializers.FloatField(allow_null=True, help_text=_("Null when the sender's were not valid."))
    longitude = serializers.FloatField(allow_null=True)
    label = serializers.CharField(help_text=_("The place's name, as the lead's app gave it."))
    address = serializers.CharField()
    map_url = serializers.CharField(help_text=_("The place on OpenStreetMap; empty without coordinates."))


class ChoiceSerializer(rest.Serializer):
    kind = serializers.ChoiceField(choices=["button", "list"], help_text=_("A quick-reply button or a list's item."))
    title = serializers.CharField(help_text=_("The option as the lead saw it."))
    id = serializers.CharField(help_text=_("The option's id, as the buttons or list sent named it."))


class QuoteSerializer(rest.Serializer):
    message_id = serializers.UUIDField(
        allow_null=True, source="message.pk", help_text=_("The quoted message of this thread; null when not stored.")
    )
    text = serializers.CharField(source="summary", help_text=_("What the quoted message says (empty: not stored)."))


class AdReferralSerializer(rest.Serializer):
    headline = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField(help_text=_("The ad's or post's address when it is an http(s) one, else empty."))
    source_type = serializers.CharField(help_text=_("ad or post."))
    source_id = serializers.CharField()


class ContactSerializer(rest.Serializer):
    name = serializers.CharField()
    phones = serializers.ListField(child=serializers.CharField())


class ConsentSerializer(rest.Serializer):
    change = serializers.ChoiceField(choices=["out", "in"], help_text=_("The lead opted out, or in again."))
    by = serializers.ChoiceField(
        choices=["word", "provider"], help_text=_("One of our words for its channel, or the provider's keyword.")
    )
    word = serializers.CharField(help_text=_("The word as the lead wrote it."))
    notice = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_notice(self, consent) -> str:
        """What the thread says under the message, in the request's language."""
        return opt_notice(change=consent["change"], by=consent["by"], word=consent["word"], channel=consent["channel"])


class MessageContentSerializer(rest.Serializer):
    consent = ConsentSerializer(allow_null=True, help_text=_("That this message opted the lead out or in, and why."))
    location = LocationSerializer(allow_null=True, help_text=_("A location the lead shared."))
    choice = ChoiceSerializer(allow_null=True, help_text=_("The button or list item the lead chose."))
    quote = QuoteSerializer(allow_null=True, help_text=_("The message this one replies to."))
    referral = AdReferralSerializer(allow_null=True, help_text=_("The ad or post that started the conversation."))
    contacts = ContactSerializer(many=True, help_text=_("The contacts of a shared vCard."))
    sticker = serializers.BooleanField(help_text=_("Its one attachment is a sticker."))


MESSAGE_EXAMPLE = {
    "id": "0b5f7f57-8d7c-4f0e-9a40-3c1f1f6f2a11",
    "lead": LEAD_ID_EXAMPLE,
    "direction": "inbound",
    "is_from_lead": True,
    "channel": "whatsapp",
    "status": "received",
    "body": "Merhaba, fiyat alabilir miyim?",
    "template_name": "",
    "media": [],
    "content": {
        "consent": None,
        "location": None,
        "choice": None,
        "quote": None,
        "referral": None,
        "contacts": [],
        "sticker": False,
    },
    "error_code": None,
    "error_message": "",
    "error_explanation": "",
    "is_read": True,
    "read_at": "2025-05-02T10:01:00Z",
    "is_starred": False,
    "starred_at": None,
    "sent_by": None,
    "created_at": "2025-05-02T10:00:00Z",
    "updated_at": "2025-05-02T10:01:00Z",
}


# Every answer with a message shows this one (a page of them, a star taken off), unless its operation shows its own.
@extend_schema_serializer(examples=[OpenApiExample("A message", value=MESSAGE_EXAMPLE, response_only=True)])
class MessageSerializer(rest.ModelSerializer):
    direction = serializers.SerializerMethodField()
    media = MessageMediaSerializer(many=True, read_only=True, source="attachments")
    content = MessageContentSerializer(
        read_only=True,
        source="rich",
        help_text=_("What it carries beyond its text and files, in the same terms for every provider."),
    )
    error_explanation = serializers.SerializerMethodField()
    sent_by = serializers.CharField(
        source="sent_by.username",
        allow_null=True,
        read_only=True,
        help_text=_("The username of the agent who sent it; null for the lead's messages and automatic sends."),
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "lead",
            "direction",
            "is_from_lead",
            "channel",
            "status",
            "body",
            "template_name",
            "media",
            "content",
            "error_code",
            "error_message",
            "error_explanation",
            "is_read",
            "read_at",
            "is_starred",
            "starred_at",
            "sent_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["inbound", "outbound"]))
    def get_direction(self, message) -> str:
        return "inbound" if message.is_from_lead else "outbound"

    @extend_schema_field(OpenApiTypes.STR)
    def get_error_explanation(self, message) -> str:
        """What the error code means for an agent, in the request's language (empty without an error)."""
        return message_error_explanation(message)


def _send(request, pk) -> Message:
    """The inbox composer's choice, through the same service: a template, else the file, else the text."""
    lead = get_object_or_404(Lead, pk=pk)
    form = SendSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    try:
        return message_send_any(
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


# A file is sent as multipart; everything else is JSON (the API's default parser).
SEND_PARSERS = [JSONParser, MultiPartParser]


class LeadSendView(APIView):
    """The spec's POST /api/leads/<id>/messages: text (`body`), a template (`template`, `parameters`) or a file
    (`file`, with `body` as its caption). The message is queued and sent right after; 400 says why it cannot be."""

    permission_classes = [api_permission(SEND_MESSAGE)]
    parser_classes = SEND_PARSERS

    def post(self, request, pk):
        return Response(SentMessageSerializer(_send(request, pk)).data, status=status.HTTP_201_CREATED)


SEND_DESCRIPTION = """Send to the lead as the inbox's composer does (the same service and the same rules): a template
when `template` is given (filled with the lead's values and `parameters`), else the file (multipart) with `body`
as its caption, else the text. The message is stored as `queued` and handed to the provider right after; its status
then changes (`sent`, `delivered`, … or `failed`), which the events feed reports.

A refusal is 400 with its reason's code: `window_closed` (free-form WhatsApp text more than 24 hours after the
lead's last message: send an approved template), `opted_out`, `no_phone`, `empty`, `too_long`, `inactive`,
`not_approved`, `media_type`, `media_size`, …; nothing is sent and an Idempotency-Key is not used up by it."""


class LeadMessagesView(GenericAPIView):
    """A lead's thread: read newest first by cursor (GET), or a message sent to the lead (POST)."""

    serializer_class = MessageSerializer
    pagination_class = KeysetPagination
    parser_classes = SEND_PARSERS
    queryset = Message.objects.none()  # the schema's model; the rows come from messaging.selectors.thread_page

    def get_permissions(self):
        needed = READ_CONVERSATIONS if self.request.method in SAFE_METHODS else SEND_MESSAGE
        return [api_permission(needed)()]

    @extend_schema(
        tags=[TAG],
        summary="A lead's messages, newest first",
        description="The lead's messages and their attachments, newest first, `limit` at a time. Follow `next` "
        "for older ones (`before` the oldest shown) and `previous` for those that arrived since (`after` the newest "
        "shown: poll it, or listen to the events feed). A cursor is a message id of this lead; any other is 400 "
        "(`invalid_cursor`). Every page, however deep, costs the same.",
        responses={200: MessageSerializer(many=True)},
    )
    def get(self, request, pk):
        lead = get_object_or_404(Lead, pk=pk)
        page = self.paginator.paginate(
            request,
            resolve=lambda key: Message.objects.filter(pk=key, lead=lead).only("pk", "created_at").first(),
            fetch=lambda **cursor: thread_page(lead=lead, **cursor),
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="Send a message to a lead",
        description=SEND_DESCRIPTION,
        request={"application/json": SendTextSerializer, "multipart/form-data": SendSerializer},
        responses={201: MessageSerializer},
        examples=[
            OpenApiExample("Text", request_only=True, value={"body": "Merhaba, teklifimiz ekte."}),
            OpenApiExample(
                "Template",
                request_only=True,
                value={"template": "5a0f1c9e-3b7d-4a51-9f1e-2c6d8e4b7a10", "parameters": ["Cumartesi", "19:00"]},
            ),
            OpenApiExample(
                "A file with a caption",
                request_only=True,
                media_type="multipart/form-data",
                value={"body": "Fiyat listemiz ekte.", "file": "fiyat-listesi.pdf"},
            ),
            OpenApiExample(
                "Queued",
                response_only=True,
                status_codes=["201"],
                value={
                    **MESSAGE_EXAMPLE,
                    "id": "6e2d4b8a-1c3f-4a7e-9b5d-0f8e2a4c6b19",
                    "direction": "outbound",
                    "is_from_lead": False,
                    "status": "queued",
                    "body": "Merhaba, teklifimiz ekte.",
                    "read_at": None,
                    "sent_by": "agent",
                    "created_at": "2025-05-02T10:05:00Z",
                    "updated_at": "2025-05-02T10:05:00Z",
                },
            ),
        ],
    )
    @idempotent
    def post(self, request, pk):
        message = _send(request, pk)
        message = Message.objects.select_related("sent_by").prefetch_related(ATTACHMENTS).get(pk=message.pk)
        return Response(self.get_serializer(message).data, status=status.HTTP_201_CREATED)


class ReadStateSerializer(rest.Serializer):
    lead = serializers.UUIDField(help_text=_("The lead's id."))
    unread_count = serializers.IntegerField(help_text=_("Its messages not read yet, as the inbox counts them."))
    changed = serializers.IntegerField(help_text=_("How many messages this request marked."))


class LeadReadStateView(APIView):
    """A conversation marked read or unread by `mark` (a messaging service: the lead → how many messages it
    changed); answers with the lead's unread count after it. Each route is a subclass, with its schema text."""

    permission_classes = [api_permission(CHANGE_MESSAGE)]
    mark: Callable[[Lead], int]

    @extend_schema(tags=[TAG], request=None, responses={200: ReadStateSerializer})
    def post(self, request, pk):
        lead = get_object_or_404(Lead, pk=pk)
        changed = self.mark(lead)
        lead.refresh_from_db(fields=["unread_count"])
        return Response(
            ReadStateSerializer({"lead": lead.pk, "unread_count": lead.unread_count, "changed": changed}).data
        )


@extend_schema_view(
    post=extend_schema(
        summary="Mark a conversation read",
        description="Every message from the lead is read, as when an agent opens the conversation; nothing "
        "changes if all were. No body.",
        examples=[OpenApiExample("Read", value={"lead": LEAD_ID_EXAMPLE, "unread_count": 0, "changed": 3})],
    )
)
class LeadReadView(LeadReadStateView):
    """The conversation read, as when an agent opens it: every agent's inbox updates its counts."""

    mark = staticmethod(
        lambda lead: messages_mark_read(queryset=lead.messages.filter(is_from_lead=True, is_read=False))
    )


@extend_schema_view(
    post=extend_schema(
        summary="Mark a conversation unread",
        description="Its newest message from the lead is unread again (unless it already is), so the inbox lists "
        "the conversation under Unread. Nothing changes for a lead who never wrote. No body.",
        examples=[OpenApiExample("Unread", value={"lead": LEAD_ID_EXAMPLE, "unread_count": 1, "changed": 1})],
    )
)
class LeadUnreadView(LeadReadStateView):
    """The conversation left for later: every agent's inbox counts it unread again."""

    mark = staticmethod(lambda lead: lead_mark_unread(lead=lead))


class MessageStarView(APIView):
    """Star a message (POST) or unstar it (DELETE), as the inbox's star does; answers with the message."""

    permission_classes = [api_permission(CHANGE_MESSAGE)]

    def _set(self, request, pk, *, starred: bool) -> Response:
        get_object_or_404(Message.objects.only("pk"), pk=pk)
        messages_set_starred(queryset=Message.objects.filter(pk=pk), starred=starred)
        message = Message.objects.select_related("sent_by").prefetch_related(ATTACHMENTS).get(pk=pk)
        return Response(MessageSerializer(message, context={"request": request}).data)

    @extend_schema(
        tags=[TAG],
        summary="Star a message",
        description="Starred messages are flagged in the inbox (its Starred filter). Starring a starred one "
        "changes nothing. No body.",
        request=None,
        responses={200: MessageSerializer},
        examples=[
            OpenApiExample(
                "Starred",
                value={**MESSAGE_EXAMPLE, "is_starred": True, "starred_at": "2025-05-02T10:02:00Z"},
                response_only=True,
            )
        ],
    )
    def post(self, request, pk):
        return self._set(request, pk, starred=True)

    @extend_schema(
        tags=[TAG],
        summary="Unstar a message",
        description="Unstarring one that is not starred changes nothing.",
        responses={200: MessageSerializer},
    )
    def delete(self, request, pk):
        return self._set(request, pk, starred=False)


class MediaFileView(APIView):
    """An attachment's file, for an integration: the same answer as the pages' (messaging.views.media_response)."""

    permission_classes = [api_permission(VIEW_MEDIA)]

    @extend_schema(
        summary="Download an attachment",
        description=(
            "The file of a message's attachment (`media[].url` of a message). Images, audio and video whose bytes "
            "match their type are sent inline, anything else as a download; 404 until the file is stored."
        ),
        responses={(200, "*/*"): OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "Content-Disposition",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                response=[200],
                description="`inline` for an image, audio or video shown as it is, else `attachment`; the file name "
                "is ours, with the extension of what the bytes are.",
                examples=[
                    OpenApiExample("A photo", value='inline; filename="attachment-3c9a71d2.jpg"'),
                    OpenApiExample("A PDF", value='attachment; filename="attachment-3c9a71d2.pdf"'),
                ],
            )
        ],
    )
    def get(self, request, pk):
        media = get_object_or_404(MessageMedia, pk=pk)
        if media.status != MessageMedia.Status.STORED:
            raise ApiError(
                _("The attachment is not stored yet (%(status)s).") % {"status": media.get_status_display()},
                code="not_stored",
                status_code=status.HTTP_404_NOT_FOUND,
            )
        return media_response(media)


urlpatterns = [  # under /api/v1/, through happycrm.api_urls
    path("media/<uuid:pk>", MediaFileView.as_view(), name="media-file"),
    path("leads/<uuid:pk>/messages", LeadMessagesView.as_view(), name="lead-messages"),
    path("leads/<uuid:pk>/read", LeadReadView.as_view(), name="lead-read"),
    path("leads/<uuid:pk>/unread", LeadUnreadView.as_view(), name="lead-unread"),
    path("messages/<uuid:pk>/star", MessageStarView.as_view(), name="message-star"),
    path("debug/webhook-diagnostics", WebhookDiagnosticsView.as_view(), name="webhook-diagnostics"),
    path("debug/messages", PhoneMessagesView.as_view(), name="debug-messages"),
]


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
