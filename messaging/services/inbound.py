"""A message a lead sent us: matched to its lead (created when new), stored once, its media fetched after."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from conversations.services import conversations_record_inbound
from happycrm.queue import enqueue_on_commit
from leads.phones import normalize_phone
from leads.services import leads_get_or_create_for_phones, leads_record_inbound, leads_set_opted_out
from messaging.backends.base import Attachment, InboundMessage, PermanentWebhookError
from messaging.models import Channel, Message, MessageMedia, MessageStatus, OptChange, WebhookEvent
from messaging.opt_words import consent_change

from .content import consent_content, message_content
from .events import events_new_message

SOURCE_URL_MAX_LENGTH = MessageMedia._meta.get_field("source_url").max_length
CONTENT_TYPE_MAX_LENGTH = MessageMedia._meta.get_field("content_type").max_length
FETCH_MEDIA_TASK = "messaging.fetch_media"


def inbound_attachment(*, position: int, attachment: Attachment) -> MessageMedia:
    """An attachment to fetch, or one refused at once (with the reason) when its URL cannot even be kept; the
    declared type is only a hint (the stored one is sniffed from the bytes), so an over-long one is dropped."""
    url, content_type = attachment.url, attachment.content_type
    if len(content_type) > CONTENT_TYPE_MAX_LENGTH:
        content_type = ""
    if len(url) > SOURCE_URL_MAX_LENGTH:
        return MessageMedia(
            position=position,
            content_type=content_type,
            status=MessageMedia.Status.FAILED,
            error=f"Refused: the URL is {len(url)} characters long; at most {SOURCE_URL_MAX_LENGTH} are kept.",
        )
    return MessageMedia(position=position, source_url=url, content_type=content_type)


@dataclass(frozen=True)
class Delivery:
    """An inbound message as a stored webhook event brought it."""

    message: InboundMessage
    provider: str
    received_at: datetime.datetime


Received = tuple[WebhookEvent.Outcome, str]  # what became of a delivery, and a note for the event


def inbound_message_receive(*, message: InboundMessage, provider: str, received_at) -> Received:
    """Store `message` once, however often the provider delivers it; returns the outcome and a note."""
    [result] = inbound_messages_receive(
        deliveries=[Delivery(message=message, provider=provider, received_at=received_at)]
    )
    if isinstance(result, PermanentWebhookError):
        raise result
    return result


def inbound_messages_receive(*, deliveries: Sequence[Delivery]) -> list[Received | PermanentWebhookError]:
    """Store each message once, as if they came one after another in the order given, in a fixed number of queries
    whatever their number: what became of each, in that order.

    A delivery that can never be stored (its sender is no phone number, its channel unknown) gets its
    PermanentWebhookError in its place and the others are stored; any other error is raised for the whole batch
    (the caller rolls it back). Two workers storing one SID at once store it once: the unique SID decides, and the
    loser's delivery is a duplicate.
    """
    results: list = [None] * len(deliveries)
    senders = {}  # position → the sender in E.164
    for position, delivery in enumerate(deliveries):
        message = delivery.message
        try:
            e164 = normalize_phone(message.sender)
        except ValidationError:
            results[position] = PermanentWebhookError(f"The sender {message.sender!r} is not a phone number.")
            continue
        if message.channel not in Channel.values:
            results[position] = PermanentWebhookError(f"Unknown channel {message.channel!r}.")
            continue
        senders[position] = e164

    stored_sids = set(
        Message.objects.filter(twilio_message_sid__in={deliveries[p].message.sid for p in senders}).values_list(
            "twilio_message_sid", flat=True
        )
    )
    firsts = {}  # SID → the position of its first delivery, the one to store
    for position in senders:
        sid = deliveries[position].message.sid
        if sid in stored_sids or sid in firsts:
            results[position] = (WebhookEvent.Outcome.DUPLICATE, "")
        else:
            firsts[sid] = position
    if not firsts:
        return results

    phones = {}  # E.164 → the profile name of its first message
    for position in firsts.values():
        phones.setdefault(senders[position], deliveries[position].message.profile_name)
    matches = leads_get_or_create_for_phones(phones=phones)

    rows = {}  # position → (the message, its attachments, the note)
    for position in sorted(firsts.values()):
        delivery, match = deliveries[position], matches[senders[position]]
        message = delivery.message
        note = ""
        if match.ambiguous:
            note = (
                f"{match.candidates} leads share the last 10 digits of {senders[position]}; "
                "matched the most recently active one."
            )
        attachments = [
            inbound_attachment(position=index, attachment=attachment)
            for index, attachment in enumerate(message.attachments)
        ]
        # The provider's keywords, else ours for the channel; the reason is kept with the message for the thread.
        consent = consent_change(body=message.body, channel=message.channel, provider_verdict=message.opt_out)
        stored = Message(
            lead=match.lead,
            body=message.body,
            channel=message.channel,
            provider=delivery.provider,
            is_from_lead=True,
            is_read=False,
            status=MessageStatus.RECEIVED,
            twilio_message_sid=message.sid,
            metadata=message.details,
            content={**message_content(message.rich), **consent_content(consent)},
            opt_change=consent.change if consent else OptChange.NONE,
            media_url=attachments[0].get_absolute_url() if attachments else "",
            media_content_type=attachments[0].content_type if attachments else "",
            created_at=delivery.received_at,
        )
        rows[position] = (stored, attachments, note)
    # Inserted in SID order, one order for every worker: a concurrent insert of the same SID waits, never deadlocks.
    Message.objects.bulk_create(
        sorted((stored for stored, _, _ in rows.values()), key=lambda m: m.twilio_message_sid), ignore_conflicts=True
    )
    winners = dict(
        Message.objects.filter(twilio_message_sid__in=firsts).values_list("twilio_message_sid", "pk").order_by()
    )

    stored_rows = []
    for position, (stored, attachments, note) in rows.items():
        if winners.get(stored.twilio_message_sid) != stored.pk:
            # The same SID was stored by a concurrent delivery of this message.
            results[position] = (WebhookEvent.Outcome.DUPLICATE, note)
            continue
        results[position] = (WebhookEvent.Outcome.STORED, note)
        for attachment in attachments:
            attachment.message = stored
        opt_out = {OptChange.OUT: True, OptChange.IN: False}.get(stored.opt_change)
        stored_rows.append((stored, attachments, opt_out))
    if not stored_rows:
        return results

    MessageMedia.objects.bulk_create([attachment for _, attachments, _ in stored_rows for attachment in attachments])
    received, opt_outs, firsts_at = {}, {}, {}
    for stored, _, opt_out in stored_rows:
        count, newest = received.get(stored.lead_id, (0, stored.created_at))
        received[stored.lead_id] = (count + 1, max(newest, stored.created_at))
        firsts_at[stored.lead_id] = min(firsts_at.get(stored.lead_id, stored.created_at), stored.created_at)
        if opt_out is not None:
            opt_outs[stored.lead_id] = opt_out  # the lead's last word in the batch holds
    leads_record_inbound(received=received)
    assignees = conversations_record_inbound(received=firsts_at)
    for opted_out in (True, False):
        if lead_ids := [lead_id for lead_id, word in opt_outs.items() if word is opted_out]:
            leads_set_opted_out(lead_ids=lead_ids, opted_out=opted_out)

    events_new_message(messages=[stored for stored, _, _ in stored_rows], assignees=assignees)
    for _, attachments, _ in stored_rows:
        for attachment in attachments:
            if attachment.status == MessageMedia.Status.PENDING:
                enqueue_on_commit(FETCH_MEDIA_TASK, str(attachment.pk))
    return results
