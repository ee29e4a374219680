import datetime
from collections.abc import Iterator, Mapping

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from happycrm import crypto
from happycrm.days import day_start, local_day
from happycrm.keyset import keyset_page
from happycrm.timestamps import local_timestamp
from leads.models import Lead
from leads.selectors import SearchTerms, SearchWord, every_word_q, lead_phone_q, lead_search_q, lead_word_places

from .backends.base import BaseBackend, PermanentWebhookError, StatusUpdate, backend_for_provider, get_backend
from .content import consent_view
from .models import (
    ATTACHMENTS_ATTR,
    QUOTED_ATTR,
    Channel,
    Message,
    MessageMedia,
    MessageStatus,
    OptChange,
    ProviderLog,
    WebhookEvent,
    quoted_messages,
)
from .opt_words import opt_in_words, reason
from .ratelimit import HEADROOM

# A message query's media, in order, as `message.attachments` (one query for all the messages).
ATTACHMENTS = Prefetch("media", queryset=MessageMedia.objects.order_by("position"), to_attr=ATTACHMENTS_ATTR)

SIGNATURE_REJECTIONS_KEY = "webhook-signature-rejections:{day}"
WHATSAPP_WINDOW = datetime.timedelta(hours=24)  # free-form messages are allowed this long after the lead's last one
SWEEP_GRACE = datetime.timedelta(seconds=30)  # an unprocessed event older than this is the periodic sweep's
# On top of a send's expected wait before the sweep queues it again: worker restarts, deploys, the retries'
# backoff (about two minutes). Queueing it twice early costs little: the second task finds it claimed.
HANDOFF_GRACE = datetime.timedelta(minutes=10)


def media_pending_for_retry(*, older_than: datetime.timedelta) -> list[str]:
    """Attachments still waiting (a lost task, a broker that was down), for the sweep."""
    pending = MessageMedia.objects.filter(
        status=MessageMedia.Status.PENDING, updated_at__lt=timezone.now() - older_than
    )
    return [str(pk) for pk in pending.values_list("pk", flat=True)[:1000]]


def webhook_events_unfinished(*, older_than: datetime.timedelta, include_failed: bool = False):
    """Events not processed yet: left behind by a broker that was down, a lost task or a crash."""
    events = WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=timezone.now() - older_than)
    if not include_failed:
        events = events.filter(attempts__lt=WebhookEvent.MAX_ATTEMPTS)
    return events.order_by("received_at")


AWAITING_WORKER = Q(
    is_from_lead=False, status=MessageStatus.QUEUED, send_claimed_at__isnull=True, twilio_message_sid__isnull=True
)  # sends no worker has claimed yet


def messages_awaiting_worker_overdue(*, bulk: bool, grace: datetime.timedelta, limit: int = 1000) -> list[str]:
    """Sends no worker has taken in time, for the sweep, oldest first: the task queue refused them, never heard of
    them (a crash between the commit and the hand-off), or lost them (nothing claimed by the expected time)."""
    now = timezone.now()
    overdue = Message.objects.filter(
        AWAITING_WORKER,
        Q(handoff_expected_by__lt=now) | Q(handoff_expected_by__isnull=True, created_at__lt=now - grace),
        bulk=bulk,
    )
    return [str(pk) for pk in overdue.order_by("created_at").values_list("pk", flat=True)[:limit]]


def send_duration(*, counts: Mapping[str, int]) -> datetime.timedelta:
    """How long sending `counts` messages (channel → how many) takes at each channel's sender rate, as the rate
    limiter spaces them: the channels' senders go side by side, so the slowest one's time."""
    seconds = [count / (get_backend(channel).send_rate(channel) * HEADROOM) for channel, count in counts.items()]
    return datetime.timedelta(seconds=max(seconds, default=0))


def signature_rejections(*, days: int = 7) -> dict[str, int]:
    """Forged requests refused, per day, counted in the cache (Redis in production): raises when it is down."""
    today = timezone.localdate()
    keys = [SIGNATURE_REJECTIONS_KEY.format(day=today - datetime.timedelta(days=n)) for n in range(days)]
    values = cache.get_many(keys)
    return {"today": values.get(keys[0], 0), f"last_{days}_days": sum(values.values())}


def handoff_states(*, now: datetime.datetime | None = None) -> dict[str, Q]:
    """Sends no worker has taken yet, by where they stand: not accepted by the task queue (it was down, or the
    process stopped before handing them over), waiting in it, or overdue there (the sweep queues them again)."""
    now = now or timezone.now()
    return {
        "not_handed_off": AWAITING_WORKER & Q(handed_off_at__isnull=True),
        "in_queue": AWAITING_WORKER & Q(handed_off_at__isnull=False, handoff_expected_by__gte=now),
        "overdue": AWAITING_WORKER & Q(handed_off_at__isnull=False, handoff_expected_by__lt=now),
    }


def sends_awaiting_worker() -> dict[str, int]:
    return Message.objects.aggregate(**{state: Count("pk", filter=q) for state, q in handoff_states().items()})


def message_error_explanation(message: Message) -> str:
    """What the message's error means for an agent, in the current language, as its provider explains it."""
    return error_explanation(provider=message.provider, code=message.error_code, provider_message=message.error_message)


def _event_status(event: WebhookEvent) -> str:
    """The status an event reports, as its provider's parser reads it ("" when it cannot be read)."""
    try:
        parsed = backend_for_provider(event.provider).parse(event.payload)
    except (PermanentWebhookError, LookupError):
        return ""
    return parsed.status if isinstance(parsed, StatusUpdate) else MessageStatus.RECEIVED


def _event_row(event: WebhookEvent) -> dict:
    return {
        "id": str(event.pk),
        "provider": event.provider,
        "kind": event.kind,
        "message_sid": event.message_sid,
        "status": _event_status(event),
        "received_at": event.received_at.isoformat(),
        "attempts": event.attempts,
        "outcome": event.outcome,
        "last_error": event.last_error,
        "notes": event.notes,
    }


def webhook_diagnostics(*, recent: int = 20) -> dict:
    """The spec's webhook diagnostics: events by state, what failed lately, what could not be matched."""
    unfinished = Q(processed_at__isnull=True)
    totals = WebhookEvent.objects.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=unfinished & Q(attempts=0)),
        retrying=Count("pk", filter=unfinished & Q(attempts__gt=0, attempts__lt=WebhookEvent.MAX_ATTEMPTS)),
        failed=Count("pk", filter=unfinished & Q(attempts__gte=WebhookEvent.MAX_ATTEMPTS)),
        rejected=Count("pk", filter=Q(outcome=WebhookEvent.Outcome.REJECTED)),
        unsigned=Count("pk", filter=Q(signature_valid__isnull=True)),
    )
    by_outcome = dict(
        WebhookEvent.objects.filter(processed_at__isnull=False)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    oldest = WebhookEvent.objects.filter(unfinished).order_by("received_at").values_list("received_at", flat=True)
    failures = WebhookEvent.objects.exclude(last_error="").order_by("-received_at")[:recent]
    unmatched = WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.UNMATCHED).order_by("-received_at")[:recent]
    media = dict(MessageMedia.objects.values_list("status").annotate(n=Count("pk")).order_by())
    failed_media = MessageMedia.objects.exclude(error="").order_by("-updated_at")[:recent]
    oldest_at = oldest.first()
    # The cache may be down while the database answers: say so, and report the rest.
    redis = {"configured": isinstance(caches[DEFAULT_CACHE_ALIAS], RedisCache), "reachable": True, "error": None}
    try:
        rejections = signature_rejections()
    except Exception as exc:
        rejections = {"today": None, "last_7_days": None}
        redis.update(reachable=False, error=f"{type(exc).__name__}: {exc}")
    return {
        "events": {**totals, "processed_by_outcome": by_outcome},
        "oldest_unprocessed_at": oldest_at.isoformat() if oldest_at else None,
        "recent_failures": [_event_row(event) for event in failures],
        "unmatched_status_callbacks": [_event_row(event) for event in unmatched],
        "media": {
            "by_status": media,
            "recent_failures": [
                {
                    "id": str(item.pk),
                    "message_id": str(item.message_id),
                    "status": item.status,
                    "attempts": item.attempts,
                    "error": item.error,
                }
                for item in failed_media
            ],
        },
        "sends": sends_awaiting_worker(),
        "redis": redis,
        "signature_rejections": rejections,
    }


def lead_has_starred() -> Exists:
    """Whether a lead (the outer query's row) has a starred message: the inbox's star and its filter, the API's
    `starred` filter (answered by the partial index on starred messages)."""
    return Exists(Message.objects.filter(lead=OuterRef("pk"), is_starred=True))


def lead_has_channel(channel: str) -> Exists:
    """Whether a lead (the outer query's row) has messages on `channel`: what the inbox's and the API's channel
    filters mean, a lead having no channel of its own (a reply goes where its latest message came from)."""
    return Exists(Message.objects.filter(lead=OuterRef("pk"), channel=channel))


def leads_message_filter(leads: QuerySet[Lead], *, channel: str = "", starred: bool | None = None) -> QuerySet[Lead]:
    """`leads` narrowed by what their messages hold: those with messages on `channel`, those with (or without) a
    starred message."""
    if channel:
        leads = leads.filter(lead_has_channel(channel))
    if starred is not None:
        leads = leads.filter(lead_has_starred() if starred else ~lead_has_starred())
    return leads


def leads_for_phone(*, e164: str):
    """Every lead the phone could belong to: the exact number and the last-10-digits fallback."""
    return Lead.objects.filter(lead_phone_q(e164=e164)).select_related("stage")


def messages_for_leads(*, leads, limit: int = 100):
    return (
        Message.objects.filter(lead__in=leads)
        .select_related("lead", "template")
        .prefetch_related(ATTACHMENTS)
        .order_by("-created_at")[:limit]
    )


def message_text_searchable() -> bool:
    """Whether messages' text can be searched: not while it is encrypted (no plaintext copy of it is kept)."""
    return not crypto.enabled()


def message_text_places(word: SearchWord) -> list[Q]:
    """A word in a message's folded text, when it has three letters or more (so the trigram index serves it);
    nowhere while the text is encrypted."""
    return [Q(search_body__contains=word.folded)] if word.indexed and message_text_searchable() else []


def lead_message_places(word: SearchWord) -> list[Q]:
    """A word in a lead's messages: where the inbox and the lead admin also look for a lead, beside its name and
    phone (`lead_search_q(more=…)`).

    An uncorrelated `id IN (SELECT lead_id …)`, answered from the index once, never a scan of the messages per lead.
    """
    return [Q(pk__in=Message.objects.filter(q).values("lead_id")) for q in message_text_places(word)]


def messages_search_q(*, terms: SearchTerms) -> Q:
    """The admin's message search: every word in the folded text or in the lead's name or phone; a phone in any
    form; a SID."""
    if terms.phone:
        return Q(lead__in=Lead.objects.filter(lead_search_q(terms=terms)).values("pk"))
    places = []
    for word in terms.words:
        conditions = [Q(lead__in=Lead.objects.filter(q).values("pk")) for q in lead_word_places(word)]
        conditions += message_text_places(word)
        if len(terms.words) == 1:
            conditions.append(Q(twilio_message_sid=word.text))
        places.append(conditions)
    match = every_word_q(Message, places)
    if len(terms.words) > 1 and terms.phone_digits:
        match |= Q(lead__phone__contains=terms.phone_digits)
    return match


# The delivery funnel: each step counts the messages that reached it or went further.
FUNNEL_SENT = {
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.PARTIALLY_DELIVERED,
}
FUNNEL_DELIVERED = {MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PARTIALLY_DELIVERED}
FUNNEL_FAILED = {MessageStatus.FAILED, MessageStatus.UNDELIVERED}


def messages_by_day(*, days: int = 30) -> dict:
    """The last `days` local days of messages, one query read from the index on (created_at, is_from_lead, status):
    inbound and outbound per day (oldest first, days without messages at zero), and the outbound funnel over the
    whole period and its last 7 days."""
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    rows = (
        Message.objects.filter(created_at__gte=day_start(first))
        .annotate(day=local_day("created_at"))
        .values_list("day", "is_from_lead", "status")
        .annotate(n=Count("*"))
        .order_by()
    )
    per_day = {first + datetime.timedelta(days=n): {"inbound": 0, "outbound": 0} for n in range(days)}
    week_start = today - datetime.timedelta(days=6)
    funnels = {period: {"queued": 0, "sent": 0, "delivered": 0, "read": 0, "failed": 0} for period in ("7", str(days))}
    for day, is_from_lead, status, n in rows:
        if day not in per_day:
            continue  # a message dated in the future (a clock ahead): not part of any past day
        per_day[day]["inbound" if is_from_lead else "outbound"] += n
        if is_from_lead:
            continue
        for period, funnel in funnels.items():
            if period == "7" and day < week_start:
                continue
            funnel["queued"] += n
            funnel["sent"] += n if status in FUNNEL_SENT else 0
            funnel["delivered"] += n if status in FUNNEL_DELIVERED else 0
            funnel["read"] += n if status == MessageStatus.READ else 0
            funnel["failed"] += n if status in FUNNEL_FAILED else 0
    days_list = [{"day": day, **counts} for day, counts in per_day.items()]
    totals = {
        period: {
            "inbound": sum(d["inbound"] for d in days_list[-int(period) :]),
            "outbound": sum(d["outbound"] for d in days_list[-int(period) :]),
        }
        for period in ("1", "7", str(days))
    }
    return {"days": days_list, "totals": totals, "funnel": funnels}


def message_failures_by_code(*, days: int = 30, limit: int = 8) -> list[dict]:
    """Failed and undelivered sends of the last `days` days by error code, most frequent first, each with what its
    provider says the code means (in the current language)."""
    since = day_start(timezone.localdate() - datetime.timedelta(days=days - 1))
    rows = (
        Message.objects.filter(created_at__gte=since, is_from_lead=False, status__in=sorted(FUNNEL_FAILED))
        .values_list("provider", "error_code")
        .annotate(n=Count("*"), text=Max("error_message"))
        .order_by("-n", "error_code")
    )
    merged: dict[int | None, dict] = {}
    for provider, code, n, text in rows:
        if code in merged:
            merged[code]["count"] += n
            continue
        merged[code] = {
            "code": code,
            "count": n,
            "explanation": backend_for_provider(provider).explain_error(code, text or ""),
        }
    return sorted(merged.values(), key=lambda row: -row["count"])[:limit]


def webhook_backlog(*, now=None) -> dict:
    """Events stored and not processed yet (`waiting`), when the oldest of them arrived (`oldest`, or None), and
    how many of them are past the sweep's grace (`lost`): one query."""
    now = now or timezone.now()
    return WebhookEvent.objects.filter(processed_at__isnull=True).aggregate(
        waiting=Count("*"),
        lost=Count("received_at", filter=Q(received_at__lt=now - SWEEP_GRACE)),
        oldest=Min("received_at"),
    )


def webhook_health(*, days: int = 7) -> dict:
    """The webhook's state, from the data: events waiting and the oldest of them; "lost" (stored but unprocessed
    past the sweep's grace, and sends no worker handed to the provider past theirs); events that could not be
    processed in the last `days` days; forged requests refused (from the cache: None when it cannot be read)."""
    now = timezone.now()
    unprocessed = webhook_backlog(now=now)
    week = now - datetime.timedelta(days=days)
    rejected = WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.REJECTED, received_at__gte=week).count()
    sends_lost = Message.objects.filter(
        AWAITING_WORKER,
        Q(handoff_expected_by__lt=now) | Q(handoff_expected_by__isnull=True, created_at__lt=now - HANDOFF_GRACE),
    ).count()
    try:
        refusals = signature_rejections(days=days)
    except Exception:
        refusals = None
    return {
        "waiting": unprocessed["waiting"],
        "oldest_unprocessed_at": unprocessed["oldest"],
        "lost_events": unprocessed["lost"],
        "lost_sends": sends_lost,
        "lost": unprocessed["lost"] + sends_lost,
        "rejected": rejected,
        "signature_refusals": refusals,
        "days": days,
        "event_grace": SWEEP_GRACE,
        "send_grace": HANDOFF_GRACE,
    }


def error_explanation(*, provider: str, code: int | None, provider_message: str = "") -> str:
    """What an error code a provider reported (a message's, or one in its delivery history) means."""
    if code is None and not provider_message:
        return ""
    try:
        backend = backend_for_provider(provider)
    except LookupError:  # a provider no longer configured: its own words, or the bare code
        backend = BaseBackend()
    return backend.explain_error(code, provider_message)


EXPORT_CHUNK = 500  # messages read per query when a whole conversation is read (an export)


def lead_conversation_chunks(
    *, lead_id, size: int = EXPORT_CHUNK
) -> Iterator[list[tuple[Message, list[MessageMedia]]]]:
    """Every message of a lead with its attachments, oldest first, `size` messages per chunk: two queries a chunk,
    the next one starting after the last message read (an index range, on any database), so a whole conversation
    is never in memory. The attachments do not point back to their message: nothing waits for the garbage
    collector once a chunk is done with."""
    after = Q()
    while True:
        chunk = list(Message.objects.filter(after, lead_id=lead_id).order_by("created_at", "pk")[:size])
        if not chunk:
            return
        media: dict = {}
        for item in MessageMedia.objects.filter(message_id__in=[m.pk for m in chunk]).order_by("message", "position"):
            media.setdefault(item.message_id, []).append(item)
        yield [(message, media.get(message.pk, [])) for message in chunk]
        last = chunk[-1]
        after = Q(created_at__gt=last.created_at) | Q(created_at=last.created_at, pk__gt=last.pk)


def lead_webhook_events_q(*, sids: list[str], e164: str | None) -> Q:
    """Its events: those about one of its messages, and those whose normalised party is exactly its number
    (never a substring, never the last-10-digits fallback: those would find other people). A lead without a phone
    has only its messages' events."""
    events = Q(message_sid__in=sids)
    return events | Q(sender=e164) | Q(recipient=e164) if e164 else events


def lead_message_ids(*, lead_id) -> list:
    """The ids of a lead's messages (its erasure, the admin history about them)."""
    return list(Message.objects.filter(lead_id=lead_id).values_list("pk", flat=True))


def lead_messaging_counts(*, lead_id, e164: str) -> dict[str, int]:
    """What erasing the lead would remove here, per kind."""
    messages = Message.objects.filter(lead_id=lead_id)
    sids = [sid for sid in messages.values_list("twilio_message_sid", flat=True) if sid]
    return {
        "messages": messages.count(),
        "attachments": MessageMedia.objects.filter(message__lead_id=lead_id).count(),
        "files": MessageMedia.objects.filter(message__lead_id=lead_id).exclude(file="").count(),
        "webhook_events": WebhookEvent.objects.filter(lead_webhook_events_q(sids=sids, e164=e164)).count(),
        "provider_logs": ProviderLog.objects.filter(message__lead_id=lead_id).count(),
        "provider_messages": len(sids),
    }


THREAD_PAGE_SIZE = 30  # the conversation page's
# What a thread's readers show of a message (the conversation page's bubbles, the API's MessageSerializer): the rest
# of the row (the folded search copy, the provider's metadata, the template's values) is neither read nor decrypted.
# `content` is empty (nothing to decrypt) unless the message carries a location, a choice, a quote or an ad.
THREAD_FIELDS = (
    "lead_id",
    "body",
    "content",
    "opt_change",
    "is_from_lead",
    "is_read",
    "read_at",
    "is_starred",
    "starred_at",
    "status",
    "channel",
    "provider",
    "template_name",
    "error_code",
    "error_message",
    "sent_by",
    "bulk",
    "created_at",
    "updated_at",
)
SENDER_FIELDS = ("sent_by__username", "sent_by__first_name", "sent_by__last_name")  # the agent's name on a bubble


def thread_page(
    *, lead: Lead, before: Message | None = None, after: Message | None = None, size: int = THREAD_PAGE_SIZE
) -> tuple[list[Message], bool]:
    """A page of a lead's thread, oldest first, and whether more lie beyond it the way it was read: the newest
    `size` messages (older than `before`, if given; then older ones may exist), or the `size` oldest newer than
    `after` (then newer ones may exist). The conversation page and the API read it: a keyset page
    (happycrm.keyset) over message_thread_idx (lead, newest first), so a page 50,000 messages deep reads what the
    first does."""
    messages = (
        lead.messages.select_related("sent_by").only(*THREAD_FIELDS, *SENDER_FIELDS).prefetch_related(ATTACHMENTS)
    )
    page, more = keyset_page(messages, before=before, after=after, size=size)
    quotes_attach(page)
    return page, more


def lead_best_template(*, lead, templates):
    """Of `templates` (those that may be sent now), the one to offer first when only a template may go: the last one
    sent to this lead (the conversation goes on as it went), else the first of them."""
    templates = list(templates)
    if not templates:
        return None
    by_pk = {template.pk: template for template in templates}
    last = (
        lead.messages.filter(template_id__in=list(by_pk))
        .order_by("-created_at")
        .values_list("template_id", flat=True)
        .first()
    )
    return by_pk.get(last, templates[0])


def quotes_attach(messages: list[Message]) -> None:
    """Give each message that quotes another the quoted one (`message.quoted_message`; None when we do not have
    it): one query for them all, none when no message quotes."""
    wanted = {
        message: (message.lead_id, sid) for message in messages if (sid := (message.content or {}).get("quoted_sid"))
    }
    found = quoted_messages(lead_sids=set(wanted.values()))
    for message, key in wanted.items():
        message.__dict__[QUOTED_ATTR] = found.get(key)


def lead_latest_consent(*, lead_id) -> Message | None:
    """The lead's latest message that opted them out or in (message_opt_change_idx), or None."""
    return (
        Message.objects.filter(lead_id=lead_id)
        .exclude(opt_change=OptChange.NONE)
        .only("lead_id", "channel", "opt_change", "content", "created_at")
        .order_by("-created_at")
        .first()
    )


def lead_opted_out_explanation(lead: Lead) -> str:
    """Why an opted-out lead cannot be messaged and how they opt in again, in the agent's language: the message
    that opted them out when there is one (an opt-out the provider reported on a send has none)."""
    keywords = {word for channel in Channel.values for word in get_backend(channel).opt_in_keywords}
    words = ", ".join(opt_in_words(sorted(keywords)))
    latest = lead_latest_consent(lead_id=lead.pk)
    if latest is None or latest.opt_change != OptChange.OUT:
        return _("This lead opted out and cannot be messaged until they send an opt-in word: %(words)s.") % {
            "words": words
        }
    consent = consent_view((latest.content or {}).get("consent"), change=latest.opt_change, channel=latest.channel)
    return _(
        "This lead opted out on %(when)s (%(reason)s) and cannot be messaged until they send an opt-in word: %(words)s."
    ) % {
        "when": local_timestamp(latest.created_at),
        "reason": reason(change=consent["change"], by=consent["by"], word=consent["word"], channel=latest.channel),
        "words": words,
    }
