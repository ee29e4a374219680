"""A lead's delete through the API is its erasure: everything kept about the lead, through the admin's service,
answered with the receipt. The lead resource as the apps before this one serve it, with a delete; leads knows
nothing of privacy."""

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.permissions import ERASE_LEAD
from happycrm.rest import serializers as rest
from messaging.api import LeadViewSet as MessagingLeadViewSet

from .models import ErasureReceipt
from .selectors import KIND_LABELS, KINDS, OUTCOME_LABELS
from .services import LeadAlreadyGone, Requester, lead_erase, provider_summary

ErasedCountsSerializer = type(
    "ErasedCountsSerializer",
    (serializers.Serializer,),
    {kind: serializers.IntegerField(help_text=capfirst(KIND_LABELS[kind])) for kind in KINDS},
)
ProviderOutcomeSerializer = type(
    "ProviderOutcomeSerializer",
    (serializers.Serializer,),
    {
        outcome: serializers.IntegerField(required=False, help_text=capfirst(text))
        for outcome, text in OUTCOME_LABELS.items()
    },
)


class ErasureReceiptSerializer(rest.ModelSerializer):
    counts = ErasedCountsSerializer(help_text=_("Rows and files removed, per kind."))
    provider_outcome = serializers.SerializerMethodField(
        help_text=_("How many of the lead's messages each outcome had at the messaging provider.")
    )

    class Meta:
        model = ErasureReceipt
        fields = ["id", "erased_at", "erased_by_name", "via", "counts", "provider_outcome"]
        extra_kwargs = {
            "id": {"help_text": _("The receipt's number, as the admin shows it.")},
            "erased_at": {"help_text": _("When the lead was erased.")},
            "erased_by_name": {"help_text": _("Who asked (the token's user).")},
            "via": {"help_text": _("Through what: `api` here.")},
        }

    @extend_schema_field(ProviderOutcomeSerializer)
    def get_provider_outcome(self, receipt) -> dict:
        return provider_summary(receipt)


RECEIPT_EXAMPLE = OpenApiExample(
    "A receipt",
    value={
        "id": 17,
        "erased_at": "2027-03-01T10:15:00+03:00",
        "erased_by_name": "integration",
        "via": "api",
        "counts": {**dict.fromkeys(KINDS, 0), "leads": 1, "messages": 24, "attachments": 2, "files": 2},
        "provider_outcome": {"deleted": 20, "absent": 4},
    },
    response_only=True,
)


class LeadViewSet(MessagingLeadViewSet):
    """The lead resource, whose delete is erasure (privacy.erase_lead, as in the admin)."""

    permissions_by_action = {**MessagingLeadViewSet.permissions_by_action, "destroy": ERASE_LEAD}

    @extend_schema(
        summary=_("Erase a lead"),
        description=_(
            "Removes the lead and everything kept about it (messages, attachments and their files, webhook events, "
            "provider logs, notifications, campaign recipients, admin history) and asks the messaging provider to "
            "delete its copies. Answers with the erasure receipt; a lead already erased is 404."
        ),
        request=None,
        responses={200: ErasureReceiptSerializer},
        examples=[RECEIPT_EXAMPLE],
    )
    def destroy(self, request, *args, **kwargs):
        lead = self.get_object()
        try:
            receipt = lead_erase(lead=lead, requester=Requester.api(request.user))
        except LeadAlreadyGone as exc:
            raise NotFound(str(exc)) from None
        return Response(ErasureReceiptSerializer(receipt).data)


routes = [("leads", LeadViewSet, "lead")]
