"""Messages we send: checked before the provider is called, stored at once, handed to it by exactly one worker."""

import datetime
import mimetypes
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.selectors import current_conversation_channel
from conversations.services import conversations_record_replies
from happycrm.queue import send
from leads.models import Lead
from leads.services import lead_mark_answered, lead_set_opted_out, leads_record_outbound
from messaging import media_types
from messaging.backends.base import (
    OutgoingMessage,
    RetryableSendError,
    SendError,
    UnknownOutcomeError,
    get_backend,
)
from messaging.backends.httplog import log_context
from messaging.models import Channel, Message, MessageMedia, MessageStatus
from messaging.ratelimit import limiter, sender_key
from messaging.selectors import (
    ATTACHMENTS,
    AWAITING_WORKER,
    HANDOFF_GRACE,
    WHATSAPP_WINDOW,
    lead_opted_out_explanation,
    messages_awaiting_worker_overdue,
    send_duration,
)
from templates_app.models import Template
from templates_app.rendering import MissingValues, template_render, template_values

from .events import event_messages_sent, event_status_update, events_status_update
from .status import message_sid_assign

NUL = "\x00"  # PostgreSQL stores no NUL, and no channel delivers one
STUCK_AFTER = datetime.timedelta(minutes=5)  # a send holds its claim for one HTTP call (at most ten seconds)
BULK_SEND_BATCH = 100  # bulk messages per task on the bulk (campaigns) queue
SEND_TASK, SEND_BATCH_TASK = "messaging.send_message", "messaging.send_messages"


class SendRefused(Exception):
    """The message cannot be sent as asked; `message` says why, in the user's language."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def whatsapp_window_open(lead: Lead, *, now: datetime.datetime | None = None) -> bool:
    """WhatsApp allows free-form messages for 24 hours after the lead's last message."""
    if lead.last_inbound_at is None:
        return False
    return (now or timezone.now()) - lead.last_inbound_at < WHATSAPP_WINDOW


def lead_default_channel(lead: Lead) -> str:
    """The channel the team chose in the lead's current conversation, else the one of the lead's latest message,
    else WhatsApp."""
    latest = Message.objects.filter(lead=OuterRef("pk"), is_from_lead=True).order_by("-created_at")
    chosen, spoken = (
        Lead.objects.filter(pk=lead.pk)
        .annotate(chosen=current_conversation_channel(), spoken=Subquery(latest.values("channel")[:1]))
        .values_list("chosen", "spoken")
        .first()
    ) or (None, None)
    if chosen in Channel.values:
        return chosen
    return spoken or Channel.WHATSAPP


def leads_touch(*, messages: Sequence[Message]) -> None:
    """Our outgoing messages move their conversations, as a lead's do: each lead's last message time follows its
    newest message (the inbox's time and order), and every screen hears of them. Called by every send path."""
    if not messages:
        return
    latest, replies = {}, {}
    for message in messages:
        latest[message.lead_id] = max(latest.get(message.lead_id, message.created_at), message.created_at)
        if message.sent_by_id is not None and message.lead_id not in replies:  # an agent's, not a campaign's
            replies[message.lead_id] = (message.created_at, message.sent_by, message.channel)
    with transaction.atomic():
        leads_record_outbound(latest=latest)
        conversations_record_replies(replies=replies)
        event_messages_sent(messages=messages)


def _check_recipient(lead: Lead) -> None:
    if not lead.phone:
        raise SendRefused(_("This lead has no phone number."), code="no_phone")
    if lead.opted_out_at is not None:
        raise SendRefused(lead_opted_out_explanation(lead), code="opted_out")


def _check_window(lead: Lead, channel: str) -> None:
    if channel == Channel.WHATSAPP and not whatsapp_window_open(lead):
        raise SendRefused(
            _(
                "More than 24 hours have passed since the lead's last message: "
                "WhatsApp only allows an approved template now."
            ),
            code="window_closed",
        )


def _check_channel(channel: str) -> None:
    if channel not in Channel.values:
        raise SendRefused(_("Unknown channel %(channel)s.") % {"channel": channel}, code="channel")


def _text(value: str) -> str:
    """A text as it is sent: line breaks as the composer counts them (a browser posts CRLF), no outer spaces."""
    return value.replace("\r\n", "\n").strip()


def _check_text(text: str, channel: str) -> None:
    """What any message may say (a text, a caption, a rendered template): no NUL, no longer than the channel takes."""
    if NUL in text:
        raise SendRefused(_("The message contains a NUL character, which cannot be sent."), code="nul")
    limit = get_backend(channel).max_body_length
    if limit is not None and len(text) > limit:
        raise SendRefused(
            _("The message is %(length)d characters long; at most %(limit)d can be sent.")
            % {"length": len(text), "limit": limit},
            code="too_long",
        )


def _check_values(values: Sequence[str]) -> None:
    if any(NUL in str(value) for value in values):
        raise SendRefused(_("A template value contains a NUL character, which cannot be sent."), code="nul")


def message_check(*, message: Message) -> None:
    """Every rule a send must pass, for a message as it stands (the admin's resend checks a stored one again)."""
    _check_channel(message.channel)
    _check_recipient(message.lead)
    if message.template_id is not None:
        _check_template(message.template, lead=message.lead, channel=message.channel)
    else:
        _check_window(message.lead, message.channel)
    _check_text(message.body, message.channel)


def message_send(*, lead: Lead, body: str, channel: str | None = None, sender=None) -> Message:
    """The spec's sendMessage: free-form text on the lead's channel, sent by a worker once committed."""
    body = _text(body)
    if not body:
        raise SendRefused(_("The message is empty."), code="empty")
    channel = channel or lead_default_channel(lead)
    _check_channel(channel)
    _check_recipient(lead)
    _check_window(lead, channel)
    _check_text(body, channel)
    message = Message.objects.create(
        lead=lead, body=body, channel=channel, status=MessageStatus.QUEUED, is_read=True, sent_by=sender
    )
    leads_touch(messages=[message])
    _queue(message)
    return message


def _uses_content(template: Template, channel: str) -> bool:
    """A WhatsApp send of a template with a content SID goes as that content (approved by WhatsApp)."""
    return channel == Channel.WHATSAPP and bool(template.content_sid)


def _check_template(template: Template, *, lead: Lead, channel: str) -> None:
    """A content template must be approved; a local one is free-form text, so the window applies to it."""
    if template.status != Template.Status.ACTIVE:
        raise SendRefused(_("The template %(name)s is inactive.") % {"name": template.name}, code="inactive")
    if _uses_content(template, channel):
        if template.approval_status != Template.ApprovalStatus.APPROVED:
            raise SendRefused(
                _("WhatsApp has not approved the template %(name)s (%(status)s).")
                % {"name": template.name, "status": template.get_approval_status_display()},
                code="not_approved",
            )
        return
    if channel == Channel.WHATSAPP and not whatsapp_window_open(lead):
        raise SendRefused(
            _(
                "The template %(name)s has no WhatsApp content SID (a local template), so it cannot be sent "
                "over WhatsApp more than 24 hours after the lead's last message."
            )
            % {"name": template.name},
            code="window_closed",
        )


def template_message_build(
    *, lead: Lead, template: Template, parameters: Sequence[str] = (), channel: str | None = None, sender=None
) -> Message:
    """Check and render a template message for `lead`, unsaved; raises SendRefused. Shared by single sends and
    bulk ones; a WhatsApp content template may go outside the 24-hour window."""
    channel = channel or lead_default_channel(lead)
    _check_channel(channel)
    _check_recipient(lead)
    _check_template(template, lead=lead, channel=channel)
    _check_values(parameters)
    whatsapp_content = _uses_content(template, channel)
    try:
        body, variables = template_render(content=template.content, values=template_values(lead=lead, extra=parameters))
    except MissingValues as exc:
        raise SendRefused(exc.message, code=exc.code) from exc
    _check_text(body, channel)
    return Message(
        lead=lead,
        body=body,
        channel=channel,
        status=MessageStatus.QUEUED,
        is_read=True,
        template=template,
        template_name=template.name,
        content_variables=variables if whatsapp_content else {},
        sent_by=sender,
    )


def message_send_template(
    *, lead: Lead, template: Template, parameters: Sequence[str] = (), channel: str | None = None, sender=None
) -> Message:
    """The spec's sendTemplateMessage."""
    message = template_message_build(
        lead=lead, template=template, parameters=parameters, channel=channel, sender=sender
    )
    message.save()
    leads_touch(messages=[message])
    _queue(message)
    return message


MB = 1024 * 1024
# What WhatsApp accepts (type → largest size); MMS takes images up to 5 MB.
WHATSAPP_MEDIA = {
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "audio/ogg": 16 * MB,
    "audio/amr": 16 * MB,
    "audio/3gpp": 16 * MB,
    "audio/aac": 16 * MB,
    "audio/mpeg": 16 * MB,
    "video/mp4": 16 * MB,
    "video/3gpp": 16 * MB,
    "application/pdf": 16 * MB,
    "application/msword": 16 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 16 * MB,
    "application/vnd.ms-powerpoint": 16 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 16 * MB,
    "application/vnd.ms-excel": 16 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 16 * MB,
    "text/vcard": 16 * MB,
}
MMS_MEDIA = {"image/jpeg": 5 * MB, "image/png": 5 * MB, "image/gif": 5 * MB}


def media_check(*, upload, channel: str) -> str:
    """The upload's content type, as its bytes show it, once it is what it claims, a type the channel takes and
    within its size. The bytes are sniffed by the same rule as a lead's attachments (messaging.media_types)."""
    declared = media_types.normalize(getattr(upload, "content_type", "") or "")
    if declared in {"", media_types.GENERIC}:
        declared = media_types.normalize(mimetypes.guess_type(upload.name)[0] or "")
    head = upload.read(media_types.SNIFF_BYTES)
    upload.seek(0)
    content_type = media_types.content_type_for(head, declared=declared)
    allowed = WHATSAPP_MEDIA if channel == Channel.WHATSAPP else MMS_MEDIA
    if declared and content_type != declared and (declared in allowed or content_type in allowed):
        raise SendRefused(_("The file is not the %(type)s it claims to be.") % {"type": declared}, code="media_type")
    if content_type not in allowed:
        takes = (
            _("WhatsApp takes images (JPEG, PNG), audio, video (MP4, 3GP), PDF, Office documents and contact cards.")
            if channel == Channel.WHATSAPP
            else _("SMS takes JPEG, PNG and GIF images.")
        )
        raise SendRefused(
            _("%(name)s cannot be sent: %(takes)s") % {"name": upload.name or _("This file"), "takes": takes},
            code="media_type",
        )
    if upload.size > allowed[content_type]:
        raise SendRefused(
            _("The file is too large: at most %(mb)d MB for this type.") % {"mb": allowed[content_type] // MB},
            code="media_size",
        )
    return content_type


def message_send_media(*, lead: Lead, upload, caption: str = "", channel: str | None = None, sender=None) -> Message:
    """The spec's sendMessageWithMedia: the file is checked, stored, and sent with a URL the provider can fetch."""
    channel = channel or lead_default_channel(lead)
    _check_channel(channel)
    _check_recipient(lead)
    _check_window(lead, channel)
    caption = _text(caption)
    _check_text(caption, channel)
    content_type = media_check(upload=upload, channel=channel)
    if get_backend(channel).needs_public_media_urls and not settings.PUBLIC_BASE_URL:
        raise SendRefused(
            _("PUBLIC_BASE_URL is not set, so the provider could not fetch the file."), code="no_public_url"
        )
    with transaction.atomic():
        media = MessageMedia(position=0, content_type=content_type, size=upload.size, status=MessageMedia.Status.STORED)
        message = Message.objects.create(
            lead=lead,
            body=caption,
            channel=channel,
            status=MessageStatus.QUEUED,
            is_read=True,
            media_url=media.get_absolute_url(),
            media_content_type=content_type,
            sent_by=sender,
        )
        media.message = message
        media.file.save(upload.name, upload, save=False)
        media.save()
        leads_touch(messages=[message])
    _queue(message)
    return message


def _queue(message: Message) -> None:
    transaction.on_commit(lambda: messages_hand_off(message_ids=[str(message.pk)]))


def _expected_by(*, channel: str, count: int, bulk: bool, exclude: Sequence[str]) -> datetime.datetime:
    """When a worker should have taken the last of `count` messages just queued for `channel`'s sender: the
    messages ahead of them (accepted by the queue, not yet claimed) go out first at the sender's rate, then
    these; plus a grace for restarts and retries. An agent's reply waits only for other replies and for the
    one bulk batch a worker may be sending (workers take the default queue first)."""
    ahead = (
        Message.objects.filter(AWAITING_WORKER, channel=channel, handed_off_at__isnull=False)
        .exclude(pk__in=exclude)
        .aggregate(replies=Count("pk", filter=Q(bulk=False)), bulk=Count("pk", filter=Q(bulk=True)))
    )
    waiting = ahead["replies"] + (ahead["bulk"] if bulk else min(ahead["bulk"], BULK_SEND_BATCH))
    return timezone.now() + send_duration(counts={channel: waiting + count}) + HANDOFF_GRACE


def messages_queue_bulk(*, messages: Sequence[Message]) -> list[Message]:
    """Store many built messages at once (`template_message_build`, unsaved) as bulk sends: their leads are
    touched as by any send, and once committed they are handed off in batches on the bulk queue."""
    for message in messages:
        message.bulk = True
    with transaction.atomic():
        Message.objects.bulk_create(messages)
        leads_touch(messages=messages)
        ids = [str(message.pk) for message in messages]
        for start in range(0, len(ids), BULK_SEND_BATCH):
            batch = ids[start : start + BULK_SEND_BATCH]
            transaction.on_commit(lambda batch=batch: messages_hand_off(message_ids=batch, bulk=True))
    return list(messages)


def messages_hand_off(*, message_ids: Sequence[str], bulk: bool = False) -> bool:
    """The one way a send reaches a worker: a bulk batch as one task on the bulk queue (CAMPAIGN_QUEUE), an
    agent's message as a task of its own on the default queue (so bulk sends never go ahead of replies).

    Whether the queue took it is recorded on the messages: if it did not (the broker is down), or never
    heard of it (a crash before this ran), or a worker has not taken it by the expected time (the broker
    lost it), `messages_requeue_overdue` queues it again; a message sent twice is still sent once."""
    message_ids = [str(pk) for pk in message_ids]
    if not message_ids:
        return True
    by_channel: dict[str, list[str]] = {}
    for pk, channel in Message.objects.filter(pk__in=message_ids).values_list("pk", "channel"):
        by_channel.setdefault(channel, []).append(str(pk))
    # Measured before publishing: in the in-process mode publishing sends at once.
    expected = {
        channel: _expected_by(channel=channel, count=len(ids), bulk=bulk, exclude=message_ids)
        for channel, ids in by_channel.items()
    }
    if bulk:
        outcomes = [(message_ids, send(SEND_BATCH_TASK, message_ids, queue=settings.CAMPAIGN_QUEUE))]
    else:
        outcomes = [([pk], send(SEND_TASK, pk)) for pk in message_ids]
    now = timezone.now()
    for ids, accepted in outcomes:
        for channel, channel_ids in by_channel.items():
            if not (wanted := [pk for pk in ids if pk in channel_ids]):
                continue
            Message.objects.filter(pk__in=wanted).update(
                handed_off_at=now if accepted else None,
                handoff_expected_by=expected[channel] if accepted else now,
                handoff_attempts=F("handoff_attempts") + 1,
                handoff_error="" if accepted else _("The task queue could not be reached."),
            )
    return all(accepted for _ids, accepted in outcomes)


CANCEL_BATCH = 1000  # messages locked and canceled per statement


def messages_cancel_unsent(*, message_ids: Sequence) -> list[str]:
    """Cancel those of these messages no send has claimed yet (a campaign canceled midway): the ids canceled.

    Each is locked in the same state `_message_send` claims it in, so exactly one of the two wins: a message a
    worker claimed first is left to it (and to its provider), one canceled first is never claimed. Screens hear
    of the new status as of any other."""
    canceled = []
    now = timezone.now()
    message_ids = list(message_ids)
    with transaction.atomic():
        for start in range(0, len(message_ids), CANCEL_BATCH):
            ids = list(
                _sendable(message_ids[start : start + CANCEL_BATCH])
                .select_for_update()
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if ids:
                Message.objects.filter(pk__in=ids).update(status=MessageStatus.CANCELED, updated_at=now)
                events_status_update(
                    messages=list(Message.objects.filter(pk__in=ids).only("pk", "lead_id", "status", "error_code"))
                )
                canceled += [str(pk) for pk in ids]
    return canceled


def messages_requeue_overdue(*, limit: int = 1000) -> dict[str, int]:
    """The sweep's part for sends: queue again those the task queue did not take or a worker never took, each
    on its own queue (replies first), oldest first."""
    replies = messages_awaiting_worker_overdue(bulk=False, grace=HANDOFF_GRACE, limit=limit)
    messages_hand_off(message_ids=replies)
    bulk = messages_awaiting_worker_overdue(bulk=True, grace=HANDOFF_GRACE, limit=limit)
    for start in range(0, len(bulk), BULK_SEND_BATCH):
        messages_hand_off(message_ids=bulk[start : start + BULK_SEND_BATCH], bulk=True)
    return {"replies": len(replies), "bulk": len(bulk)}


def _outgoing(message: Message) -> OutgoingMessage:
    template = message.template
    use_content = message.channel == Channel.WHATSAPP and template is not None and bool(template.content_sid)
    return OutgoingMessage(
        to=message.lead.phone,
        channel=message.channel,
        body="" if use_content else message.body,
        media_urls=tuple(settings.PUBLIC_BASE_URL + media.public_path() for media in message.attachments),
        content_sid=template.content_sid if use_content else "",
        content_variables=message.content_variables if use_content else {},
    )


def _sendable(message_ids: Sequence) -> QuerySet:
    """Those of these messages still to hand to a provider: ours, queued, not claimed by a send, no SID yet."""
    return Message.objects.filter(
        pk__in=message_ids,
        is_from_lead=False,
        status=MessageStatus.QUEUED,
        send_claimed_at__isnull=True,
        twilio_message_sid__isnull=True,
    )


def message_deliver(*, message_id) -> Message | None:
    """Hand one queued message to the backend; a second run for the same message does nothing (`_message_send`).
    Raises RetryableSendError when the provider certainly did not take it."""
    message = _sendable([message_id]).select_related("lead", "template").first()
    return _message_send(message) if message is not None else None


def messages_deliver(*, message_ids: Sequence) -> dict[str, RetryableSendError]:
    """A batch (a campaign's): read together with their leads, templates and attachments in two queries, then
    each sent as `message_deliver` sends one, in the batch's order. Returns those the provider certainly did not
    take, with why (the caller retries them)."""
    messages = {
        str(message.pk): message
        for message in _sendable(message_ids).select_related("lead", "template").prefetch_related(ATTACHMENTS)
    }
    refused = {}
    for message_id in map(str, message_ids):
        if (message := messages.get(message_id)) is not None:
            try:
                _message_send(message)
            except RetryableSendError as exc:
                refused[message_id] = exc
    return refused


def _message_send(message: Message) -> Message | None:
    """The sender's rate limit is waited for first; then the row is claimed with a conditional UPDATE before the
    call, so however many workers send it, the provider is called once. Errors after which the provider certainly
    did not take the message release the claim and are raised for the task to retry; a timeout leaves the claim
    and marks the message for attention; any other refusal fails it."""
    backend = get_backend(message.channel)
    limiter.wait_for_slot(sender_key(backend, message.channel), backend.send_rate(message.channel))
    if not _sendable([message.pk]).update(send_claimed_at=timezone.now(), provider=backend.provider):
        return None  # another send took it meanwhile, or it was canceled
    try:
        with log_context(message=message, template=message.template_id):
            result = backend.send(_outgoing(message))
    except RetryableSendError as exc:
        Message.objects.filter(pk=message.pk).update(
            send_claimed_at=None, error_code=exc.code, error_message=exc.message
        )
        raise
    except UnknownOutcomeError as exc:
        Message.objects.filter(pk=message.pk).update(needs_attention=True, error_message=exc.message)
        return message
    except SendError as exc:
        return message_send_failed(
            message=message, code=exc.code, error=exc.message, recipient_opted_out=exc.recipient_opted_out
        )
    with transaction.atomic():
        message = message_sid_assign(message=message, sid=result.sid)
        lead_mark_answered(lead=message.lead)
    return message


def message_send_failed(
    *, message: Message, code: int | None, error: str, recipient_opted_out: bool = False
) -> Message:
    """The provider refused the message (or could not be reached after every retry): it failed, and says why."""
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.FAILED, error_code=code, error_message=error, updated_at=timezone.now()
        )
        message.refresh_from_db()
        if recipient_opted_out:
            lead_set_opted_out(lead=message.lead, opted_out=True)
        event_status_update(message=message)
    return message


def messages_mark_stuck(*, older_than: datetime.timedelta = STUCK_AFTER) -> int:
    """A message claimed long ago with no answer stored: its worker died mid-send, so the outcome is unknown."""
    return Message.objects.filter(
        status=MessageStatus.QUEUED,
        twilio_message_sid__isnull=True,
        needs_attention=False,
        send_claimed_at__lt=timezone.now() - older_than,
    ).update(
        needs_attention=True,
        error_message=_("The worker sending this message stopped before the provider answered."),
        updated_at=timezone.now(),
    )


def message_resend(*, message: Message) -> Message:
    """Send again by hand: a failed message, or one whose outcome was unknown once someone checked the provider."""
    if message.is_from_lead or not (message.status == MessageStatus.FAILED or message.needs_attention):
        raise SendRefused(_("Only a failed message, or one marked for attention, can be sent again."), code="resend")
    message_check(message=message)
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.QUEUED,
        send_claimed_at=None,
        needs_attention=False,
        twilio_message_sid=None,
        error_code=None,
        error_message="",
        updated_at=timezone.now(),
    )
    message.refresh_from_db()
    _queue(message)
    return message


def message_send_any(
    *,
    lead: Lead,
    body: str = "",
    template: Template | None = None,
    parameters: Sequence[str] = (),
    upload=None,
    channel: str | None = None,
    sender,
) -> Message:
    """One choice for every sender (the inbox's composer, the API): a template when one is given, else the file
    with `body` as its caption, else the text. Raises SendRefused."""
    common = {"lead": lead, "channel": channel, "sender": sender}
    if template is not None:
        return message_send_template(template=template, parameters=parameters, **common)
    if upload:
        return message_send_media(upload=upload, caption=body, **common)
    return message_send(body=body, **common)
