"""What a delivery says: the notifications events read in batches and turned into our own payloads (ids, the lead,
the message, the status and what its error means), built from the rows as they are now in a few queries per
batch, whatever its size."""

import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q

from campaigns.models import Campaign, CampaignRecipient
from leads.models import Lead
from messaging.models import Message
from messaging.selectors import ATTACHMENTS, error_explanation
from notifications.models import Event

from .models import Delivery, Subscription, WebhookEvent

UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.RETRYING)

# The notifications feed's types (the agents' screens' own words) → the events integrators subscribe to. Keyed by
# value: `campaign_finished` is recorded by the campaigns app.
EVENT_TYPES: dict[str, WebhookEvent] = {
    Event.Type.NEW_MESSAGE: WebhookEvent.MESSAGE_RECEIVED,
    Event.Type.STATUS_UPDATE: WebhookEvent.MESSAGE_STATUS_CHANGED,
    Event.Type.LEAD_CREATED: WebhookEvent.LEAD_CREATED,
    Event.Type.LEAD_CHANGED: WebhookEvent.LEAD_UPDATED,
    "campaign_finished": WebhookEvent.CAMPAIGN_FINISHED,
}


@dataclass(frozen=True)
class Built:
    event: WebhookEvent
    lead_id: object  # a UUID, or None
    payload: dict


def subscriptions_wanting() -> dict[str, list]:
    """The active subscriptions' ids by the event they want (one query; empty when none is active)."""
    wanting = defaultdict(list)
    for pk, events in Subscription.objects.filter(is_active=True).order_by("pk").values_list("pk", "events"):
        for event in events:
            wanting[event].append(pk)
    return dict(wanting)


def _moment(value) -> str | None:
    return value.isoformat() if value else None


def lead_data(lead: Lead) -> dict:
    return {
        "id": str(lead.pk),
        "name": lead.name,
        "phone": lead.phone or "",
        "email": lead.email,
        "stage": {"id": str(lead.stage_id), "name": lead.stage.name} if lead.stage_id else None,
        "location": lead.location,
        "event_date": lead.event_date.isoformat() if lead.event_date else None,
        "is_unregistered": lead.is_unregistered,
        "opted_out": lead.opted_out_at is not None,
        "opted_out_at": _moment(lead.opted_out_at),
        "created_at": _moment(lead.created_at),
        "updated_at": _moment(lead.updated_at),
    }


def message_data(message: Message, *, status: str, error_code) -> dict:
    return {
        "id": str(message.pk),
        "lead_id": str(message.lead_id),
        "direction": "inbound" if message.is_from_lead else "outbound",
        "channel": message.channel,
        "status": status,
        "body": message.body,
        "template_name": message.template_name,
        "media": [
            {"id": str(media.pk), "content_type": media.content_type, "size": media.size}
            for media in message.attachments
        ],
        "error_code": error_code,
        "error_explanation": error_explanation(
            provider=message.provider,
            code=error_code,
            provider_message=message.error_message if error_code == message.error_code else "",
        )
        or None,
        "created_at": _moment(message.created_at),
    }


def _envelope(event: Event, name: WebhookEvent, data: dict) -> dict:
    return {"event": str(name), "event_id": event.pk, "occurred_at": _moment(event.created_at), "data": data}


def _campaigns(ids) -> dict:
    campaigns = {campaign.pk: campaign for campaign in Campaign.objects.filter(pk__in=ids).select_related("template")}
    outcomes = defaultdict(dict)
    rows = CampaignRecipient.objects.filter(campaign_id__in=campaigns).values_list("campaign_id", "outcome")
    for campaign_id, outcome, count in rows.annotate(count=Count("pk")).order_by():
        outcomes[campaign_id][outcome] = count
    return {pk: (campaign, outcomes[pk]) for pk, campaign in campaigns.items()}


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def events_payloads(*, events: list[Event]) -> dict[int, Built]:
    """The payload of each event that has one (by event id): a message event whose message is not a lead's (for
    `message.received`) or is gone, or an event of a type no subscription can want, has none."""
    by_type = defaultdict(list)
    for event in events:
        if event.type in EVENT_TYPES:
            by_type[EVENT_TYPES[event.type]].append(event)
    message_ids = {
        event.message_id
        for name in (WebhookEvent.MESSAGE_RECEIVED, WebhookEvent.MESSAGE_STATUS_CHANGED)
        for event in by_type[name]
        if event.message_id
    }
    messages = {}
    if message_ids:
        query = Message.objects.filter(pk__in=message_ids).select_related("lead__stage")
        messages = {message.pk: message for message in query.prefetch_related(ATTACHMENTS)}
    lead_ids = {
        event.lead_id for name in (WebhookEvent.LEAD_CREATED, WebhookEvent.LEAD_UPDATED) for event in by_type[name]
    }
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=lead_ids).select_related("stage")} if lead_ids else {}
    campaign_ids = {
        _uuid_or_none(event.payload.get("campaign_id")) for event in by_type[WebhookEvent.CAMPAIGN_FINISHED]
    } - {None}
    campaigns = _campaigns(campaign_ids) if campaign_ids else {}

    built = {}
    for event in by_type[WebhookEvent.MESSAGE_RECEIVED]:
        message = messages.get(event.message_id)
        if message is None or not message.is_from_lead:
            continue
        data = {
            "message": message_data(message, status=message.status, error_code=message.error_code),
            "lead": lead_data(message.lead),
        }
        name = WebhookEvent.MESSAGE_RECEIVED
        built[event.pk] = Built(name, message.lead_id, _envelope(event, name, data))
    for event in by_type[WebhookEvent.MESSAGE_STATUS_CHANGED]:
        message = messages.get(event.message_id)
        if message is None:
            continue
        # The status this event reports (the message may have moved on since), with the error it came with.
        status = event.payload.get("status") or message.status
        error_code = event.payload.get("error_code") if "status" in event.payload else message.error_code
        data = {
            "message": message_data(message, status=status, error_code=error_code),
            "lead": lead_data(message.lead),
        }
        name = WebhookEvent.MESSAGE_STATUS_CHANGED
        built[event.pk] = Built(name, message.lead_id, _envelope(event, name, data))
    for name in (WebhookEvent.LEAD_CREATED, WebhookEvent.LEAD_UPDATED):
        for event in by_type[name]:
            lead = leads.get(event.lead_id)
            if lead is not None:
                built[event.pk] = Built(name, lead.pk, _envelope(event, name, {"lead": lead_data(lead)}))
    for event in by_type[WebhookEvent.CAMPAIGN_FINISHED]:
        found = campaigns.get(_uuid_or_none(event.payload.get("campaign_id")))
        if found is None:
            continue
        campaign, outcomes = found
        data = {
            "campaign": {
                "id": str(campaign.pk),
                "name": campaign.name,
                "status": campaign.status,
                "template_name": campaign.template.name,
                "recipients": sum(outcomes.values()),
                "outcomes": outcomes,
                # Recipients whose message had no final delivery report when the campaign finished without them.
                "unconfirmed": (event.payload.get("counts") or {}).get("unconfirmed", 0),
                "started_at": _moment(campaign.started_at),
                "finished_at": _moment(campaign.finished_at),
            }
        }
        name = WebhookEvent.CAMPAIGN_FINISHED
        built[event.pk] = Built(name, None, _envelope(event, name, data))
    return built


def lead_deliveries_count(*, lead_id) -> int:
    return Delivery.objects.filter(lead_id=lead_id).count()


def deliveries_due(*, now, limit: int, queued_grace) -> list[tuple[int, object]]:
    """Unfinished deliveries whose attempt is due, oldest due first, through the partial index of unfinished rows:
        retries whose time came, and queued sends no worker took within `queued_grace` (their task was lost, or a
        lost worker's claim ran out). A send still waiting its turn in the queue is not taken twice. Each as its id and
    its subscription's."""
    return list(
        Delivery.objects.filter(
            Q(status=Delivery.Status.RETRYING, next_attempt_at__lte=now)
            | Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now - queued_grace)
        )
        .order_by("next_attempt_at")
        .values_list("pk", "subscription_id")[:limit]
    )
