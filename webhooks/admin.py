import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import SEND_WEBHOOK, has_perms
from happycrm.admin_site import ReadOnlyAdminMixin, related_rows_link
from happycrm.audit import audit_record

from .models import Delivery, Subscription, WebhookEvent
from .services import (
    SECRET_MIN_LENGTH,
    ResendRefused,
    SubscriptionRefused,
    delivery_resend,
    subscription_check,
    subscription_ping,
    subscription_save,
)


def body_block(text: str) -> str:
    if not text:
        return "-"
    return format_html('<pre style="white-space:pre-wrap;max-height:40em;overflow:auto">{}</pre>', text)


def ping_outcome(delivery: Delivery) -> tuple[str, int]:
    if delivery.status == Delivery.Status.SUCCEEDED:
        text = _("Ping to %(name)s answered HTTP %(status)s in %(ms)s ms.")
        level = messages.SUCCESS
    else:
        text = _("Ping to %(name)s failed: %(error)s")
        level = messages.ERROR
    values = {
        "name": delivery.subscription.name,
        "status": delivery.response_status,
        "ms": delivery.duration_ms,
        "error": delivery.error,
    }
    return text % values, level


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=Subscription._meta.get_field("url").help_text,
    )
    events = forms.MultipleChoiceField(
        label=pgettext_lazy("field", "events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    new_secret = forms.CharField(
        label=_("new signing secret"),
        required=False,
        min_length=SECRET_MIN_LENGTH,
        max_length=200,
        help_text=_("Leave empty to keep the secret (a new subscription gets a generated one)."),
    )

    class Meta:
        model = Subscription
        fields = ["name", "url", "events", "is_active"]

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            subscription_check(subscription=self.instance, secret=self.cleaned_data.get("new_secret", ""))
        except SubscriptionRefused as exc:
            self.add_error(exc.field if exc.field in self.fields else "new_secret", exc.message)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Who hears of what; the secret is shown to whoever made the subscription."""

    form = SubscriptionForm
    list_display = ["name", "short_url", "events_display", "is_active", "failure_count", "short_reason", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    actions = ["ping", "enable"]
    readonly_fields = [
        "disabled_reason",
        "disabled_at",
        "failure_count",
        "created_by",
        "created_at",
        "updated_at",
        "deliveries_link",
    ]
    change_form_template = "admin/webhooks/subscription/change_form.html"

    def get_fields(self, request, obj=None):
        fields = ["name", "url", "events", "is_active", "new_secret"]
        if obj is None:
            return fields
        return [*fields, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    @admin.display(description=_("URL"), ordering="url")
    def short_url(self, obj):
        return Truncator(obj.url).chars(60)

    @admin.display(description=pgettext_lazy("field", "events"))
    def events_display(self, obj):
        return ", ".join(obj.events)

    @admin.display(description=_("why it was disabled"))
    def short_reason(self, obj):
        return Truncator(obj.disabled_reason).chars(80) or "-"

    @admin.display(description=_("deliveries"))
    def deliveries_link(self, obj):
        return related_rows_link("admin:webhooks_delivery_changelist", "subscription", obj, _("Its deliveries"))

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["can_ping"] = self.has_send_permission(request)
        if obj is not None and obj.created_by_id == request.user.pk:
            context["secret"] = obj.secret  # its owner may read it again; nobody else ever
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        subscription_save(subscription=obj, secret=form.cleaned_data.get("new_secret", ""))

    def has_send_permission(self, request):
        return has_perms(request.user, SEND_WEBHOOK)

    def _ping(self, request, subscription: Subscription) -> None:
        delivery = subscription_ping(subscription=subscription)
        text, level = ping_outcome(delivery)
        audit_record(user=request.user, message=text, objects=[subscription])
        self.message_user(request, text, level)

    @admin.action(description=_("Ping selected subscriptions"), permissions=["send"])
    def ping(self, request, queryset):
        for subscription in queryset:
            self._ping(request, subscription)

    @admin.action(description=_("Enable selected subscriptions again"), permissions=["change"])
    def enable(self, request, queryset):
        enabled = []
        for subscription in queryset.filter(is_active=False):
            subscription.is_active = True
            try:
                subscription_save(subscription=subscription)
            except SubscriptionRefused as exc:
                self.message_user(request, f"{subscription}: {exc.message}", messages.ERROR)
            else:
                enabled.append(subscription)
        if enabled:
            audit_record(user=request.user, message=str(_("Enabled again.")), objects=enabled)
            count = len(enabled)
            self.message_user(request, ngettext("%d subscription enabled.", "%d subscriptions enabled.", count) % count)

    def get_urls(self):
        ping = self.admin_site.admin_view(require_POST(self.ping_view))
        return [path("<uuid:pk>/ping/", ping, name="webhooks_subscription_ping"), *super().get_urls()]

    def ping_view(self, request, pk):
        if not self.has_send_permission(request):
            raise PermissionDenied
        subscription = get_object_or_404(Subscription, pk=pk)
        self._ping(request, subscription)
        return redirect("admin:webhooks_subscription_change", pk)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each delivery as sent and as answered: read only; resent as a new delivery; deleted by retention only."""

    list_display = [
        "created_at",
        "event",
        "subscription",
        "status",
        "attempts",
        "response_status",
        "duration_ms",
        "short_error",
        "finished_at",
    ]
    list_filter = ["status", "event", "subscription"]
    list_select_related = ["subscription"]
    search_fields = ["=delivery_id", "=event_id"]
    actions = ["resend"]
    fields = [
        "delivery_id",
        "subscription",
        "event",
        "event_id",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "finished_at",
        "duration_ms",
        "error",
        "response_status",
        "response",
        "request",
    ]
    readonly_fields = fields
    change_form_template = "admin/webhooks/delivery/change_form.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            return queryset.defer("payload", "response_body")  # the list shows neither: not read, not decrypted
        return queryset

    @admin.display(description=_("error"))
    def short_error(self, obj):
        return Truncator(obj.error).chars(80) or "-"

    @admin.display(description=_("request body"))
    def request(self, obj):
        return body_block(json.dumps(obj.payload, indent=2, ensure_ascii=False))

    @admin.display(description=_("answer's body"))
    def response(self, obj):
        return body_block(obj.response_body)

    def has_delete_permission(self, request, obj=None):
        return False  # only the retention's prune deletes

    def has_send_permission(self, request):
        return has_perms(request.user, SEND_WEBHOOK)

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_resend"] = self.has_send_permission(request)
        return super().render_change_form(request, context, *args, **kwargs)

    def _resend(self, request, delivery: Delivery) -> Delivery | None:
        try:
            copy = delivery_resend(delivery=delivery)
        except ResendRefused as exc:
            self.message_user(request, f"{delivery.delivery_id}: {exc.message}", messages.ERROR)
            return None
        audit_record(
            user=request.user,
            message=str(_("Delivery %(id)s resent as %(copy)s."))
            % {"id": delivery.delivery_id, "copy": copy.delivery_id},
            objects=[delivery.subscription],
        )
        return copy

    @admin.action(description=_("Resend selected deliveries"), permissions=["send"])
    def resend(self, request, queryset):
        deliveries = queryset.select_related("subscription")
        copies = [copy for delivery in deliveries if (copy := self._resend(request, delivery))]
        if copies:
            count = len(copies)
            self.message_user(
                request, ngettext("%d delivery queued again.", "%d deliveries queued again.", count) % count
            )

    def get_urls(self):
        resend = self.admin_site.admin_view(require_POST(self.resend_view))
        return [path("<int:pk>/resend/", resend, name="webhooks_delivery_resend"), *super().get_urls()]

    def resend_view(self, request, pk):
        if not self.has_send_permission(request):
            raise PermissionDenied
        delivery = get_object_or_404(Delivery.objects.select_related("subscription"), pk=pk)
        copy = self._resend(request, delivery)
        if copy is None:
            return redirect("admin:webhooks_delivery_change", pk)
        self.message_user(request, _("Queued again as a new delivery."), messages.SUCCESS)
        return redirect(reverse("admin:webhooks_delivery_change", args=[copy.pk]))
