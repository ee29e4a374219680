"""Outbound webhooks: subscriptions saved, events turned into deliveries, deliveries sent, retried and given up.

The events come from the notifications feed (its ascending id is the dispatcher's cursor): the apps that record
them know nothing of webhooks. Each delivery is POSTed, signed, through the outbound guard (the address checked
again at every attempt, no redirect followed), by the `hooks` worker on a queue of its own.
"""

import datetime
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from happycrm.crypto_rows import REWRITE_BATCH, model_key_counts, model_rewrite
from happycrm.db.update import rows_update
from happycrm.outbound_http import GuardedSession, OutboundRequestFailed, OutboundRequestRefused, url_refusal
from happycrm.pruning import PRUNE_BATCH, prune_by_id_ranges
from happycrm.queue import send
from notifications.models import Event

from .models import PING, Delivery, DispatchCursor, Subscription, WebhookEvent
from .selectors import UNFINISHED, deliveries_due, events_payloads, subscriptions_wanting

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"
USER_AGENT = "HappyCRM-Webhooks/1"
SECRET_PREFIX = "whsec_"  # noqa: S105 -- the prefix of generated secrets
SECRET_MIN_LENGTH = 16

TIMEOUT = (5.0, 10.0)  # connect, read (seconds)
DEADLINE = 15.0  # the whole exchange
RESPONSE_KEPT = 4096  # bytes of the receiver's answer kept (and read)
# Seconds before each retry (after the 1st, 2nd, … failed attempt), each ±10%: about 7.5 hours in all.
BACKOFF = (30, 120, 600, 3600, 6 * 3600)
MAX_ATTEMPTS = len(BACKOFF) + 1
# Consecutive deliveries that failed every attempt before the subscription is disabled: the receiver has been
# failing for at least the whole back-off, ten times over.
DISABLE_AFTER = 10
# Deliveries per task, all to one subscription: one claim, one connection to the receiver, one write of the outcomes.
DELIVER_BATCH = 50
# Seconds after which a batch starts no more attempts (a slow receiver holds a worker this long at most, plus one
# attempt's DEADLINE); the ones it did not reach go back to the queue.
BATCH_DEADLINE = 30.0
# A batch's claim: a worker lost mid-batch is taken over after it. Longer than a whole batch can take
# (BATCH_DEADLINE and one more attempt).
LEASE = datetime.timedelta(seconds=60)
DISPATCH_BATCH = 500
DISPATCH_BATCHES = 20  # per run; the next run (2 s later) continues
# An event id skipped over (a gap) may belong to a transaction not committed yet: wait this long for it before
# taking it as rolled back.
GAP_WAIT = datetime.timedelta(seconds=5)
RETRY_SWEEP_LIMIT = 1000
# A queued send that no worker took in this long was lost (by the broker, or with a worker mid-attempt): the sweep
# queues it again. Longer than a burst's backlog takes to drain, so a send waiting its turn is not queued twice.
QUEUED_GRACE = datetime.timedelta(minutes=5)

FINISHED = (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED)


class SubscriptionRefused(Exception):
    """A subscription that cannot be saved as asked: the field and a sentence for its owner."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class ResendRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def secret_generate() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256, under the subscription's secret, of `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def url_refusal_reason(url: str) -> str | None:
    """Why deliveries cannot go to `url` (the guard's rules, https only when WEBHOOK_HTTPS_ONLY), or None."""
    if settings.WEBHOOK_HTTPS_ONLY and urlsplit(url).scheme.lower() != "https":
        return _("only https:// URLs receive webhooks here")
    return url_refusal(url)


def _events_clean(events) -> list[str]:
    wanted = set(events or ())
    unknown = wanted - set(WebhookEvent.values)
    if unknown:
        raise SubscriptionRefused("events", _("Unknown events: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if not wanted:
        raise SubscriptionRefused("events", _("Choose at least one event."))
    return [name for name in WebhookEvent.values if name in wanted]


def subscription_check(*, subscription: Subscription, secret: str = "") -> list[str]:
    """Refuse (SubscriptionRefused) what cannot be saved: no or unknown events, a short secret, a URL the guard
    refuses, checked when it is new or changed or the subscription is being enabled again. Returns the events in
    their usual order. The admin's form calls it to show the refusal beside the field."""
    events = _events_clean(subscription.events)
    if secret and len(secret) < SECRET_MIN_LENGTH:
        raise SubscriptionRefused(
            "secret", _("A secret needs at least %(count)d characters.") % {"count": SECRET_MIN_LENGTH}
        )
    before = _stored(subscription)
    if before is None or before["url"] != subscription.url or _enabling(subscription, before):
        reason = url_refusal_reason(subscription.url)
        if reason:
            raise SubscriptionRefused("url", _("This URL cannot receive webhooks: %(reason)s.") % {"reason": reason})
    return events


def _stored(subscription: Subscription) -> dict | None:
    if subscription._state.adding:
        return None
    return Subscription.objects.filter(pk=subscription.pk).values("url", "is_active").first()


def _enabling(subscription: Subscription, before: dict | None) -> bool:
    return subscription.is_active and (before is None or not before["is_active"])


def subscription_save(*, subscription: Subscription, secret: str = "") -> Subscription:
    """Save a subscription made or edited (the admin, the API), checked first (`subscription_check`). A new one
    without `secret` gets a generated one; enabling one again clears why it was disabled and its failures."""
    subscription.events = subscription_check(subscription=subscription, secret=secret)
    before = _stored(subscription)
    if secret:
        subscription.secret = secret
    elif subscription._state.adding:
        subscription.secret = secret_generate()
    if _enabling(subscription, before):
        subscription.disabled_reason, subscription.disabled_at, subscription.failure_count = "", None, 0
    elif before is not None and before["is_active"] and not subscription.is_active:
        subscription.disabled_at = timezone.now()
    subscription.save()
    return subscription


def subscription_delete(*, subscription: Subscription) -> None:
    """The subscription and its deliveries (a queued attempt finds nothing left to send)."""
    subscription.delete()


# The dispatcher.


def _cursor_locked() -> DispatchCursor | None:
    """The cursor, locked for this transaction; None while another dispatcher holds it."""
    cursor = DispatchCursor.objects.select_for_update(skip_locked=True).filter(pk=1).first()
    if cursor is None and not DispatchCursor.objects.filter(pk=1).exists():
        # Only after a database was emptied: start from now, as the migration did.
        newest = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        DispatchCursor.objects.bulk_create([DispatchCursor(pk=1, position=newest)], ignore_conflicts=True)
    return cursor


def _readable(events: list[Event], position: int, now) -> list[Event]:
    """The events up to the first recent gap in the ids: an id in it may still commit, and must not be passed."""
    readable, expected = [], position + 1
    for event in events:
        if event.pk != expected and event.created_at > now - GAP_WAIT:
            break
        readable.append(event)
        expected = event.pk + 1
    return readable


def deliveries_dispatch(*, batch_size: int = DISPATCH_BATCH, max_batches: int = DISPATCH_BATCHES) -> int:
    """Turn the events recorded since the cursor into deliveries for the active subscriptions that want them, in
    batches (one insert each), and queue their sends. One dispatcher at a time (the cursor's row lock; another
    returns at once). With no active subscription it only moves the cursor to the newest event."""
    created = 0
    for _batch in range(max_batches):
        made, more = _dispatch_batch(batch_size)
        created += made
        if not more:
            break
    return created


def _dispatch_batch(batch_size: int) -> tuple[int, bool]:
    wanting = subscriptions_wanting()
    if not wanting:
        newest = Subquery(Event.objects.order_by("-pk").values("pk")[:1])
        DispatchCursor.objects.filter(pk=1, position__lt=newest).update(position=newest)  # no write when idle
        return 0, False
    with transaction.atomic():
        cursor = _cursor_locked()
        if cursor is None:
            return 0, False
        events = list(Event.objects.filter(pk__gt=cursor.position).order_by("pk")[:batch_size])
        readable = _readable(events, cursor.position, timezone.now())
        if not readable:
            return 0, False
        built = events_payloads(events=readable)
        rows = [
            Delivery(
                subscription_id=subscription_id,
                event=item.event,
                event_id=event.pk,
                lead_id=item.lead_id,
                payload=item.payload,
            )
            for event in readable  # in the feed's order
            if (item := built.get(event.pk))
            for subscription_id in wanting.get(item.event, ())
        ]
        deliveries = Delivery.objects.bulk_create(rows)
        DispatchCursor.objects.filter(pk=1).update(position=readable[-1].pk)
        queued = [(delivery.pk, delivery.subscription_id) for delivery in deliveries]
        transaction.on_commit(lambda: _queue(queued))
    return len(rows), len(readable) == batch_size


def _queue(deliveries: Iterable[tuple[int, object]]) -> None:
    """Queue the sends of these deliveries (id, subscription id): a task per DELIVER_BATCH of one subscription's,
    oldest first."""
    by_subscription = defaultdict(list)
    for pk, subscription_id in deliveries:
        by_subscription[subscription_id].append(pk)
    for pks in by_subscription.values():
        pks.sort()
        for start in range(0, len(pks), DELIVER_BATCH):
            send(DELIVER_TASK, *pks[start : start + DELIVER_BATCH])  # one that fails is taken by the retry sweep


def deliveries_retry_due(*, limit: int = RETRY_SWEEP_LIMIT) -> int:
    """Queue the deliveries whose attempt is due: retries whose time came, and sends whose task was lost."""
    now = timezone.now()
    due = deliveries_due(now=now, limit=limit, queued_grace=QUEUED_GRACE)
    # Queued from now: pending, its time now (the claim's condition), lost again only after QUEUED_GRACE.
    Delivery.objects.filter(pk__in=[pk for pk, _ in due], status__in=UNFINISHED).update(
        status=Delivery.Status.PENDING, next_attempt_at=now
    )
    _queue(due)
    return len(due)


# Sending.


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    body: str
    error: str
    duration_ms: int


def _post(session: GuardedSession, *, subscription: Subscription, delivery: Delivery) -> Outcome:
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-HappyCRM-Event": delivery.event,
        "X-HappyCRM-Delivery": str(delivery.delivery_id),
        "X-HappyCRM-Timestamp": timestamp,
        "X-HappyCRM-Signature": signature(secret=subscription.secret, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    status, text, error = None, "", ""
    try:
        if settings.WEBHOOK_HTTPS_ONLY and urlsplit(subscription.url).scheme.lower() != "https":
            raise OutboundRequestRefused(_("only https:// URLs receive webhooks here"))
        response = session.post(
            subscription.url, body=body, headers=headers, timeout=TIMEOUT, deadline=DEADLINE, max_bytes=RESPONSE_KEPT
        )
    except OutboundRequestRefused as exc:
        error = _("Refused: %(reason)s") % {"reason": exc.reason}
    except OutboundRequestFailed as exc:
        error = str(exc)
    else:
        status = response.status
        text = response.content.decode("utf-8", errors="replace").replace("\x00", "")
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            error = _("Redirect not followed (HTTP %(status)d to %(location)s).") % {
                "status": status,
                "location": location[:500] or "-",
            }
        elif not 200 <= status < 300:
            error = _("The receiver answered HTTP %(status)d.") % {"status": status}
    duration = round((time.monotonic() - started) * 1000)
    return Outcome(ok=not error, status=status, body=text, error=error, duration_ms=duration)


def _claim(delivery_pks) -> list[Delivery]:
    """Take the next attempt of those of these deliveries that are due and that no other worker has (their rows
    locked, skipping the ones another worker is taking now), in id order, each with its subscription."""
    now = timezone.now()
    with transaction.atomic():
        deliveries = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=delivery_pks, status__in=UNFINISHED, next_attempt_at__lte=now)
            .order_by("pk")
        )
        if not deliveries:
            return []
        Delivery.objects.filter(pk__in=[delivery.pk for delivery in deliveries]).update(
            attempts=F("attempts") + 1, next_attempt_at=now + LEASE
        )
    # One instance (one secret decrypted) per subscription; a delivery whose subscription is gone meanwhile is gone.
    subscriptions = Subscription.objects.in_bulk({delivery.subscription_id for delivery in deliveries})
    claimed = [delivery for delivery in deliveries if delivery.subscription_id in subscriptions]
    for delivery in claimed:
        delivery.attempts += 1
        delivery.subscription = subscriptions[delivery.subscription_id]
    return claimed


def _release(deliveries: list[Delivery]) -> None:
    """Give back the claim of deliveries a batch did not reach (not counted as an attempt), and queue them again."""
    Delivery.objects.filter(pk__in=[delivery.pk for delivery in deliveries]).update(
        attempts=F("attempts") - 1, next_attempt_at=timezone.now()
    )
    _queue((delivery.pk, delivery.subscription_id) for delivery in deliveries)


def _backoff(attempts: int) -> datetime.timedelta:
    seconds = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return datetime.timedelta(seconds=seconds * random.uniform(0.9, 1.1))  # noqa: S311 -- jitter, not a secret


def deliveries_attempt(*, delivery_pks) -> list[Delivery]:
    """One attempt at each of these deliveries that is due and no other worker has, in id order, over one kept
    connection per receiver: 2xx succeeds; anything else is retried after the back-off, and after MAX_ATTEMPTS
    fails. DISABLE_AFTER failed deliveries in a row disable the subscription, with the last error as the reason.
    Past BATCH_DEADLINE the rest are queued again untried. Returns the deliveries attempted."""
    deliveries = _claim(delivery_pks)
    ends_at = time.monotonic() + BATCH_DEADLINE
    done: list[tuple[Delivery, Outcome, bool]] = []
    with GuardedSession() as session:
        for delivery in deliveries:
            if done and time.monotonic() > ends_at:
                break
            subscription = delivery.subscription
            if subscription.is_active:
                done.append((delivery, _post(session, subscription=subscription, delivery=delivery), True))
            else:
                disabled = Outcome(False, None, "", _("The subscription is disabled."), 0)
                done.append((delivery, disabled, False))
    if len(done) < len(deliveries):
        _release(deliveries[len(done) :])
    _record(done)
    return [delivery for delivery, _outcome, _retry in done]


OUTCOME_FIELDS = [
    "status",
    "response_status",
    "response_body",
    "error",
    "duration_ms",
    "finished_at",
    "next_attempt_at",
]


def _record(done: list[tuple[Delivery, Outcome, bool]]) -> None:
    """Write the attempts' outcomes (one update for all), then count the subscriptions' failures in a row:
    `retry` False for an attempt that is final whatever it gave (a ping, a disabled subscription's), which counts
    neither for nor against the subscription."""
    now = timezone.now()
    for delivery, outcome, retry in done:
        delivery.response_status, delivery.response_body = outcome.status, outcome.body
        delivery.error, delivery.duration_ms = outcome.error, outcome.duration_ms
        if outcome.ok:
            delivery.status, delivery.finished_at, delivery.next_attempt_at = Delivery.Status.SUCCEEDED, now, None
        elif retry and delivery.attempts < MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = Delivery.Status.RETRYING, now + _backoff(delivery.attempts)
        else:
            delivery.status, delivery.finished_at, delivery.next_attempt_at = Delivery.Status.FAILED, now, None
    rows_update([delivery for delivery, _outcome, _retry in done], OUTCOME_FIELDS)
    # Per subscription, in order: a success starts the count again, each delivery given up adds one.
    streaks: dict[object, tuple[bool, int, str]] = {}  # subscription id → (a success seen, failures after, error)
    for delivery, outcome, retry in done:
        if not retry or delivery.event == PING:
            continue
        succeeded, failed, _last = streaks.get(delivery.subscription_id, (False, 0, ""))
        if outcome.ok:
            streaks[delivery.subscription_id] = (True, 0, "")
        elif delivery.status == Delivery.Status.FAILED:
            streaks[delivery.subscription_id] = (succeeded, failed + 1, outcome.error)
    for delivery, _outcome, _retry in done:
        if delivery.subscription_id in streaks:
            _failure_count(delivery.subscription, *streaks.pop(delivery.subscription_id), now)


def _failure_count(subscription: Subscription, succeeded: bool, failed: int, error: str, now) -> None:
    """Bring the subscription's count of failed deliveries in a row up to date (no write while all is well, as
    read with the batch), and disable it once it reaches DISABLE_AFTER."""
    if succeeded:
        if subscription.failure_count or failed:
            Subscription.objects.filter(pk=subscription.pk).update(failure_count=failed)
    elif failed:
        Subscription.objects.filter(pk=subscription.pk).update(failure_count=F("failure_count") + failed)
    if not failed:
        return
    reason = _("Disabled after %(count)d failed deliveries in a row; the last one: %(error)s") % {
        "count": DISABLE_AFTER,
        "error": error,
    }
    disabled = Subscription.objects.filter(pk=subscription.pk, is_active=True, failure_count__gte=DISABLE_AFTER).update(
        is_active=False, disabled_reason=reason, disabled_at=now
    )
    if disabled:
        logger.warning("Webhook subscription %s disabled: %s", subscription.pk, error)


def subscription_ping(*, subscription: Subscription) -> Delivery:
    """Send a `ping` now, through the same path as every delivery (signed, guarded), once: what the receiver
    answered is on the returned delivery. A disabled subscription may be pinged (to check before enabling it)."""
    now = timezone.now()
    delivery = Delivery.objects.create(
        subscription=subscription,
        event=PING,
        payload={
            "event": PING,
            "event_id": None,
            "occurred_at": now.isoformat(),
            "data": {"subscription_id": str(subscription.pk), "name": subscription.name},
        },
        attempts=1,
        next_attempt_at=now + LEASE,  # claimed from the start: the sweep leaves it alone
    )
    with GuardedSession() as session:
        _record([(delivery, _post(session, subscription=subscription, delivery=delivery), False)])
    return delivery


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """A new delivery of the same payload (the same event id, a new delivery id), queued now: the original keeps
    its own record. Refused while the subscription is disabled."""
    subscription = delivery.subscription
    if not subscription.is_active:
        raise ResendRefused(_("The subscription is disabled: enable it first."))
    with transaction.atomic():
        copy = Delivery.objects.create(
            subscription=subscription,
            event=delivery.event,
            event_id=delivery.event_id,
            lead_id=delivery.lead_id,
            payload=delivery.payload,
        )
        transaction.on_commit(lambda: _queue([(copy.pk, copy.subscription_id)]))
    return copy


# Retention, erasure, encryption.


def deliveries_prune(*, older_than: datetime.timedelta, batch_size: int = PRUNE_BATCH, dry_run: bool = False) -> int:
    """Finished deliveries made longer ago than the retention (RETENTION_WEBHOOK_DELIVERIES_DAYS), by id ranges (a
    delivery's id grows with when it was made; no index on a time is written for them); unfinished ones stay however
    old."""
    return prune_by_id_ranges(
        Delivery.objects.filter(status__in=FINISHED),
        field="created_at",
        cutoff=timezone.now() - older_than,
        batch_size=batch_size,
        dry_run=dry_run,
    )


def lead_deliveries_erase(*, lead_id) -> int:
    """The deliveries about a lead, for its erasure (their payloads hold its number and messages)."""
    deleted, _ = Delivery.objects.filter(lead_id=lead_id).delete()
    return deleted


def webhooks_key_counts() -> dict[str, Counter]:
    """The secrets, payloads and answers per encryption key, for `manage.py encryption status`."""
    counts = {}
    for model, label in ((Subscription, "webhook_subscription"), (Delivery, "webhook_delivery")):
        counts.update({f"{label}.{name}": counter for name, counter in model_key_counts(model).items()})
    return counts


def webhooks_reencrypt(*, batch_size: int = REWRITE_BATCH, progress: Callable[[str, int], None] | None = None) -> int:
    done = 0
    for model, label in ((Subscription, "webhook_subscription"), (Delivery, "webhook_delivery")):
        report = progress and (lambda n, label=label: progress(label, n))
        done += model_rewrite(model, batch_size=batch_size, progress=report)
    return done
