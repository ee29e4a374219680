import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from happycrm.pruning import PRUNE_BATCH, prune_by_id_ranges

from .models import ApiToken, IdempotentRequest, UserPreference

# The session remembers the logged-in user's language, so applying it costs no query per request.
LANGUAGE_SESSION_KEY = "accounts_language"


def user_language_set(*, user, language: str, session=None) -> UserPreference:
    """Remember `language` for `user` (and for the session they are in); a language not offered is refused."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Not an offered language: {language!r}")
    preference, _ = UserPreference.objects.update_or_create(user=user, defaults={"language": language})
    if session is not None:
        session[LANGUAGE_SESSION_KEY] = language
    return preference


def user_language_restore(*, user, session) -> str:
    """At login: the user's saved language into their new session ('' when they never chose one)."""
    language = UserPreference.objects.filter(user=user).values_list("language", flat=True).first() or ""
    if language in dict(settings.LANGUAGES):
        session[LANGUAGE_SESSION_KEY] = language
        return language
    return ""


def user_availability_set(*, user, available: bool) -> UserPreference:
    """Whether the user takes new conversations when they are assigned automatically."""
    preference, _ = UserPreference.objects.update_or_create(user=user, defaults={"is_available": available})
    return preference


def agents_take_turns(*, among, count: int) -> list:
    """The next `count` turns of the round robin among the users `among` (a queryset) marked available: the one
    given a conversation longest ago first (never given one, first of all), again from the start when `count` is
    larger than they are many. Their turns are recorded; rows locked, so two workers do not give out one turn."""
    if count <= 0:
        return []
    with transaction.atomic():
        waiting = list(
            UserPreference.objects.select_for_update()
            .filter(is_available=True, user__in=among)
            .order_by(F("last_assigned_at").asc(nulls_first=True), "user_id")
            .values_list("user_id", flat=True)
        )
        if not waiting:
            return []
        turns = [waiting[n % len(waiting)] for n in range(count)]
        now = timezone.now()
        last_turn = {user_id: position for position, user_id in enumerate(turns)}
        for user_id, position in last_turn.items():
            # A microsecond apart in the order of their last turns: where the next round starts.
            stamp = now + datetime.timedelta(microseconds=position)
            UserPreference.objects.filter(user_id=user_id).update(last_assigned_at=stamp)
    return turns


def api_token_refusal(*, user, name: str, expires_at: datetime.datetime | None = None) -> str | None:
    """Why a token with these values cannot be made (the page's, the admin's and the command's one rule); None
    when it can."""
    if not name.strip():
        return _("A token needs a name (what it is for).")
    if not user.is_active:
        return _("The user %(user)s is inactive: a token would not work.") % {"user": user}
    if expires_at is not None and expires_at <= timezone.now():
        return _("The expiry must be in the future.")
    return None


def api_token_create(*, user, name: str, expires_at: datetime.datetime | None = None) -> tuple[ApiToken, str]:
    """A new personal API token for `user`: the row and the token itself, which is not stored and cannot be shown
    again. Refused (ValueError, with why) as api_token_refusal says."""
    if refusal := api_token_refusal(user=user, name=name, expires_at=expires_at):
        raise ValueError(refusal)
    expiry = expires_at - timezone.now() if expires_at is not None else None
    name = name.strip()[: ApiToken._meta.get_field("name").max_length]
    return ApiToken.objects.create(user, expiry=expiry, name=name)


def api_token_used(*, token: ApiToken) -> None:
    """Record that `token` was used now, at most once a minute (a token in constant use writes nothing more)."""
    now = timezone.now()
    if token.last_used_at and (now - token.last_used_at).total_seconds() < ApiToken.LAST_USED_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def api_token_revoke(*, token: ApiToken) -> None:
    """The token stops working at once (its row is deleted)."""
    token.delete()


def idempotent_requests_prune(*, older_than: datetime.timedelta, batch_size: int = PRUNE_BATCH, dry_run=False) -> int:
    """Retention's prune of the API's remembered answers: a day is what the Idempotency-Key promises, at least."""
    return prune_by_id_ranges(
        IdempotentRequest.objects.all(),
        field="created_at",
        cutoff=timezone.now() - max(older_than, IdempotentRequest.KEPT),
        batch_size=batch_size,
        dry_run=dry_run,
    )
