"""The outbound webhooks' API: subscriptions (`/api/v1/webhooks`), a ping, a subscription's deliveries, and a
delivery resent. The same services as the admin; each action needs the permission it needs there."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.idempotency import idempotent
from accounts.permissions import (
    ADD_WEBHOOK,
    CHANGE_WEBHOOK,
    DELETE_WEBHOOK,
    SEND_WEBHOOK,
    VIEW_WEBHOOK_DELIVERIES,
    VIEW_WEBHOOKS,
    api_permission,
)
from happycrm.audit import audit_record
from happycrm.rest import serializers as rest
from happycrm.rest.errors import ApiError

from .models import DELIVERY_EVENTS, Delivery, Subscription, WebhookEvent
from .services import (
    SECRET_MIN_LENGTH,
    ResendRefused,
    SubscriptionRefused,
    delivery_resend,
    subscription_delete,
    subscription_ping,
    subscription_save,
)


class SubscriptionSerializer(rest.ModelSerializer):
    name = serializers.CharField(max_length=100, help_text=gettext_lazy("A name for the receiving system."))
    url = serializers.URLField(
        max_length=2000,
        help_text=gettext_lazy(
            "Where deliveries are POSTed (https in production). It must resolve to a public address; it is checked "
            "again before every delivery, and redirects are not followed."
        ),
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        allow_empty=False,
        max_length=len(WebhookEvent.choices),
        help_text=gettext_lazy("The events this subscription receives (at least one)."),
    )
    is_active = serializers.BooleanField(
        required=False,
        default=True,
        help_text=gettext_lazy(
            "Whether deliveries are made. Set to true again to enable a subscription disabled after failures."
        ),
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=SECRET_MIN_LENGTH,
        max_length=200,
        help_text=gettext_lazy(
            "The signing secret; leave it out to have one generated. Never returned, except once on creation."
        ),
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "name",
            "url",
            "events",
            "is_active",
            "secret",
            "disabled_reason",
            "disabled_at",
            "failure_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "disabled_reason", "disabled_at", "failure_count", "created_at", "updated_at"]
        extra_kwargs = {
            "id": {"help_text": gettext_lazy("The subscription's id.")},
            "disabled_reason": {"help_text": gettext_lazy("Why deliveries stopped (empty while active).")},
            "disabled_at": {"help_text": gettext_lazy("When it was disabled, or null.")},
            "failure_count": {"help_text": gettext_lazy("Deliveries that failed every attempt, in a row.")},
        }


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text=gettext_lazy("The signing secret: shown this once. Keep it to verify X-HappyCRM-Signature."),
    )


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(
        source="delivery_id", read_only=True, help_text=gettext_lazy("The X-HappyCRM-Delivery header sent.")
    )
    subscription = serializers.UUIDField(source="subscription_id", read_only=True)
    event = serializers.ChoiceField(choices=DELIVERY_EVENTS, read_only=True)
    status = serializers.ChoiceField(choices=Delivery.Status.choices, read_only=True)
    payload = serializers.JSONField(read_only=True, help_text=gettext_lazy("The JSON body sent."))

    class Meta:
        model = Delivery
        fields = [
            "id",
            "subscription",
            "event",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "response_status",
            "response_body",
            "error",
            "duration_ms",
            "created_at",
            "finished_at",
            "payload",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "event_id": {"help_text": gettext_lazy("The event's number: the same on a resend (null for a ping).")},
            "next_attempt_at": {"help_text": gettext_lazy("When the next attempt is due (null once finished).")},
            "response_status": {"help_text": gettext_lazy("The HTTP status the receiver last answered.")},
            "response_body": {"help_text": gettext_lazy("The start (4 KB) of the receiver's last answer.")},
            "error": {"help_text": gettext_lazy("Why the last attempt failed (empty on success).")},
        }


class DeliveryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Delivery.Status.choices, required=False)
    event = serializers.ChoiceField(choices=DELIVERY_EVENTS, required=False)


DeliveryPageSerializer = inline_serializer(
    name="WebhookDeliveryPage",
    fields={
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": DeliverySerializer(many=True),
    },
)

SUBSCRIPTION_EXAMPLE = {
    "id": "5f0c8a55-5d3e-4a57-9a55-2f1f7b0b8c11",
    "name": "Our ERP",
    "url": "https://erp.example.com/hooks/happycrm",
    "events": ["message.received", "lead.created"],
    "is_active": True,
    "disabled_reason": "",
    "disabled_at": None,
    "failure_count": 0,
    "created_at": "2026-12-01T09:30:00+03:00",
    "updated_at": "2026-12-01T09:30:00+03:00",
}
DELIVERY_EXAMPLE = {
    "id": "0b6f3f5e-8c7d-4f51-a0e4-9f2b1c3d4e5f",
    "subscription": SUBSCRIPTION_EXAMPLE["id"],
    "event": "message.received",
    "event_id": 48213,
    "status": "succeeded",
    "attempts": 1,
    "next_attempt_at": None,
    "response_status": 200,
    "response_body": "ok",
    "error": "",
    "duration_ms": 84,
    "created_at": "2026-12-01T09:31:02+03:00",
    "finished_at": "2026-12-01T09:31:02+03:00",
    "payload": {"event": "message.received", "event_id": 48213, "occurred_at": "2026-12-01T06:31:01+00:00"},
}
PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="The page number, from 1."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Deliveries per page (at most 200, 50 by default)."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=Delivery.Status.values, description="Only this status."),
    OpenApiParameter(
        "event", OpenApiTypes.STR, enum=[value for value, _label in DELIVERY_EVENTS], description="Only this event."
    ),
]
PERMISSIONS = {
    "list": VIEW_WEBHOOKS,
    "retrieve": VIEW_WEBHOOKS,
    "create": ADD_WEBHOOK,
    "partial_update": CHANGE_WEBHOOK,
    "destroy": DELETE_WEBHOOK,
    "ping": SEND_WEBHOOK,
    "deliveries": VIEW_WEBHOOK_DELIVERIES,
    "resend": SEND_WEBHOOK,
}


def _refused(exc: SubscriptionRefused) -> ApiError:
    code = "url_refused" if exc.field == "url" else "validation_error"
    return ApiError(exc.message, code=code, fields={exc.field: [exc.message]})


class PermissionsByAction:
    def get_permissions(self):
        return [api_permission(PERMISSIONS.get(self.action, VIEW_WEBHOOKS))()]


@extend_schema_view(
    list=extend_schema(
        summary="List webhook subscriptions",
        description="Every subscription, by name. Needs `webhooks.view_subscription`.",
        parameters=PAGE_PARAMETERS[:2],
        examples=[OpenApiExample("A subscription", value=SUBSCRIPTION_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Read a webhook subscription",
        description="One subscription (its secret is never shown again). Needs `webhooks.view_subscription`.",
        examples=[OpenApiExample("A subscription", value=SUBSCRIPTION_EXAMPLE, response_only=True)],
    ),
    destroy=extend_schema(
        summary="Delete a webhook subscription",
        description="The subscription and its deliveries. Needs `webhooks.delete_subscription`.",
        responses={204: None},
    ),
)
class SubscriptionViewSet(PermissionsByAction, viewsets.ModelViewSet):
    queryset = Subscription.objects.order_by("name", "created_at")
    serializer_class = SubscriptionSerializer
    http_method_names = ["get", "post", "patch", "delete"]
    lookup_value_regex = "[^/]+"  # any id reaches the view, which answers 404 in the API's format

    @extend_schema(
        summary="Create a webhook subscription",
        description=(
            "The URL must resolve to a public address (a private one is refused with `url_refused`, unless the "
            "deployment allows its network). The answer holds the signing secret, shown this once. Needs "
            "`webhooks.add_subscription`."
        ),
        request=SubscriptionSerializer,
        responses={201: SubscriptionCreatedSerializer},
        examples=[
            OpenApiExample(
                "Subscribe to received messages",
                value={
                    "name": "Our ERP",
                    "url": "https://erp.example.com/hooks/happycrm",
                    "events": ["message.received"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={**SUBSCRIPTION_EXAMPLE, "secret": "whsec_9qX0c3…"},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        form = SubscriptionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        secret = data.pop("secret", "")
        subscription = Subscription(created_by=request.user, **data)
        try:
            subscription_save(subscription=subscription, secret=secret)
        except SubscriptionRefused as exc:
            raise _refused(exc) from None
        audit_record(user=request.user, message=_("Created through the API."), objects=[subscription])
        return Response(SubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a webhook subscription",
        description=(
            "Any of its fields; `is_active: true` enables a disabled one again (its URL checked again, its failures "
            "forgotten); a new `secret` replaces the old one at once. Needs `webhooks.change_subscription`."
        ),
        request=SubscriptionSerializer,
        responses={200: SubscriptionSerializer},
        examples=[
            OpenApiExample("Enable again", value={"is_active": True}, request_only=True),
            OpenApiExample("Changed", value=SUBSCRIPTION_EXAMPLE, response_only=True),
        ],
    )
    def partial_update(self, request, *args, **kwargs):
        subscription = self.get_object()
        form = SubscriptionSerializer(subscription, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        secret = data.pop("secret", "")
        for name, value in data.items():
            setattr(subscription, name, value)
        try:
            subscription_save(subscription=subscription, secret=secret)
        except SubscriptionRefused as exc:
            raise _refused(exc) from None
        changed = ", ".join(sorted([*data, *(["secret"] if secret else [])]))
        message = _("Changed through the API: %(fields)s.") % {"fields": changed}
        audit_record(user=request.user, message=message, objects=[subscription])
        return Response(SubscriptionSerializer(subscription).data)

    def destroy(self, request, *args, **kwargs):
        subscription = self.get_object()
        audit_record(user=request.user, message=_("Deleted through the API."), objects=[subscription], deleted=True)
        subscription_delete(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Ping a webhook subscription",
        description=(
            "Sends a `ping` event now, signed and through the same checks as every delivery, and answers with the "
            "delivery: what the receiver answered, or why it failed. Not retried. Needs "
            "`webhooks.change_subscription` and `webhooks.view_delivery`."
        ),
        request=None,
        responses={200: DeliverySerializer},
        examples=[OpenApiExample("Answered", value={**DELIVERY_EXAMPLE, "event": "ping"}, response_only=True)],
    )
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        subscription = self.get_object()
        delivery = subscription_ping(subscription=subscription)
        audit_record(
            user=request.user,
            message=_("Pinged through the API: %(outcome)s") % {"outcome": delivery.error or delivery.response_status},
            objects=[subscription],
        )
        return Response(DeliverySerializer(delivery).data)

    @extend_schema(
        summary="List a subscription's deliveries",
        description=(
            "Newest first, with what was sent and what the receiver answered. Needs `webhooks.view_subscription` "
            "and `webhooks.view_delivery`."
        ),
        parameters=PAGE_PARAMETERS,
        responses={200: DeliveryPageSerializer},
        examples=[
            OpenApiExample(
                "A page",
                value={"count": 1, "next": None, "previous": None, "results": [DELIVERY_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        filters = DeliveryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = Delivery.objects.filter(subscription=subscription, **filters.validated_data).order_by("-id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


@extend_schema_view(
    retrieve=extend_schema(
        summary="Read a webhook delivery",
        description="One delivery by its id (the X-HappyCRM-Delivery header). Needs `webhooks.view_subscription` and "
        "`webhooks.view_delivery`.",
        examples=[OpenApiExample("A delivery", value=DELIVERY_EXAMPLE, response_only=True)],
    ),
)
class DeliveryViewSet(PermissionsByAction, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Delivery.objects.select_related("subscription")
    serializer_class = DeliverySerializer
    lookup_field = "delivery_id"
    lookup_url_kwarg = "pk"
    lookup_value_regex = "[^/]+"

    def get_permissions(self):
        if self.action == "retrieve":
            return [api_permission(VIEW_WEBHOOK_DELIVERIES)()]
        return super().get_permissions()

    @extend_schema(
        summary="Resend a webhook delivery",
        description=(
            "Queues a new delivery of the same payload (the same `event_id`, a new delivery id) to the same "
            "subscription; the original keeps its record. Refused (`subscription_disabled`) while the subscription "
            "is disabled. Needs `webhooks.change_subscription` and `webhooks.view_delivery`."
        ),
        request=None,
        responses={201: DeliverySerializer},
        examples=[
            OpenApiExample(
                "Queued",
                value={**DELIVERY_EXAMPLE, "status": "pending", "attempts": 0, "response_status": None},
                response_only=True,
                status_codes=["201"],
            )
        ],
    )
    @idempotent
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        delivery = self.get_object()
        try:
            copy = delivery_resend(delivery=delivery)
        except ResendRefused as exc:
            raise ApiError(exc.message, code="subscription_disabled") from None
        audit_record(
            user=request.user,
            message=_("Delivery %(id)s resent through the API as %(copy)s.")
            % {"id": delivery.delivery_id, "copy": copy.delivery_id},
            objects=[delivery.subscription],
        )
        return Response(DeliverySerializer(copy).data, status=status.HTTP_201_CREATED)


routes = [
    ("webhooks", SubscriptionViewSet, "webhook"),
    ("webhook-deliveries", DeliveryViewSet, "webhook-delivery"),
]
