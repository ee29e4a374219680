import datetime
from collections.abc import Callable

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from leads.models import Lead
from leads.phones import fallback_digits
from leads.selectors import SearchTerms, SearchWord, every_word_q, lead_search_q, lead_word_places

from .models import Message, MessageMedia, MessageStatus, WebhookEvent

SIGNATURE_REJECTIONS_KEY = "webhook-signature-rejections:{day}"


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


def _event_row(event: WebhookEvent) -> dict:
    return {
        "id": str(event.pk),
        "kind": event.kind,
        "message_sid": event.message_sid,
        "status": event.payload.get("MessageStatus") or event.payload.get("SmsStatus", ""),
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


def leads_for_phone(*, e164: str):
    """Every lead the phone could belong to: the exact number and the last-10-digits fallback."""
    return Lead.objects.filter(Q(phone=e164) | Q(phone_national=fallback_digits(e164))).select_related("stage")


def messages_for_leads(*, leads, limit: int = 100):
    return (
        Message.objects.filter(lead__in=leads)
        .select_related("lead", "template")
        .prefetch_related("media")
        .order_by("-created_at")[:limit]
    )


INBOX_PAGE_SIZE = 30
THREAD_PAGE_SIZE = 30


def inbox_leads(
    *, unread: bool = False, starred: bool = False, stage=None, channel: str = "", query: str = ""
) -> QuerySet[Lead]:
    """Conversations, latest first, each with its last message: one query whatever the page holds."""
    latest = Message.objects.filter(lead=OuterRef("pk")).order_by("-created_at")
    leads = (
        Lead.objects.filter(last_message_at__isnull=False)
        .select_related("stage")
        .annotate(
            last_body=Subquery(latest.values("body")[:1]),
            last_channel=Subquery(latest.values("channel")[:1]),
            last_from_lead=Subquery(latest.values("is_from_lead")[:1]),
            last_status=Subquery(latest.values("status")[:1]),
            last_media=Subquery(latest.values("media_content_type")[:1]),
            has_starred=Exists(Message.objects.filter(lead=OuterRef("pk"), is_starred=True)),
        )
        .order_by("-last_message_at", "-pk")
    )
    if unread:
        leads = leads.filter(unread_count__gt=0)
    if starred:
        leads = leads.filter(has_starred=True)
    if stage is not None:
        leads = leads.filter(stage=stage)
    if channel:
        leads = leads.filter(Exists(Message.objects.filter(lead=OuterRef("pk"), channel=channel)))
    terms = SearchTerms.parse(query)
    if terms:
        leads = leads.filter(leads_search_q(terms=terms))
    return leads


def leads_search_q(*, terms: SearchTerms, more: Callable[[SearchWord], list[Q]] | None = None) -> Q:
    """Leads by name or phone, or whose messages hold a word (of three letters or more, so the trigram index
    serves it); `more` adds other places a word may be in (the admin's e-mail and location).

    The messages' part is an uncorrelated `id IN (SELECT lead_id …)`, answered from the index once, never a scan
    of the messages per lead.
    """

    def anywhere(word: SearchWord) -> list[Q]:
        places = more(word) if more is not None else []
        if word.indexed:
            places.append(Q(pk__in=Message.objects.filter(search_body__contains=word.folded).values("lead_id")))
        return places

    return lead_search_q(terms=terms, more=anywhere)


def messages_search_q(*, terms: SearchTerms) -> Q:
    """The admin's message search: every word in the folded text or in the lead's name or phone; a phone in any
    form; a SID."""
    if terms.phone:
        return Q(lead__in=Lead.objects.filter(lead_search_q(terms=terms)).values("pk"))
    places = []
    for word in terms.words:
        conditions = [Q(lead__in=Lead.objects.filter(q).values("pk")) for q in lead_word_places(word)]
        if word.indexed:
            conditions.append(Q(search_body__contains=word.folded))
        if len(terms.words) == 1:
            conditions.append(Q(twilio_message_sid=word.text))
        places.append(conditions)
    match = every_word_q(Message, places)
    if len(terms.words) > 1 and terms.phone_digits:
        match |= Q(lead__phone__contains=terms.phone_digits)
    return match


def thread_page(*, lead: Lead, before: Message | None = None, size: int = THREAD_PAGE_SIZE) -> tuple[list, bool]:
    """The newest `size` messages (older than `before` if given), oldest first, and whether older ones exist."""
    messages = lead.messages.select_related("template").prefetch_related("media").order_by("-created_at", "-pk")
    if before is not None:
        messages = messages.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
        )
    page = list(messages[: size + 1])
    return list(reversed(page[:size])), len(page) > size
