"""Reads of the accounts app: the personal API tokens, for the user's page and the command; who can do what."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import ApiToken, UserPreference


def users_with_perms(perms: tuple[str, ...]) -> QuerySet:
    """The active users who hold every one of `perms` (their own, through a group, or as superusers), by name: the
    agents a conversation can be given to, the ones a note can mention."""
    users = get_user_model().objects.filter(is_active=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        users = users.filter(
            Q(is_superuser=True) | Q(user_permissions__in=permission) | Q(groups__permissions__in=permission)
        )
    return users.distinct().order_by("username")


def agents_listed(*, perms: tuple[str, ...]) -> QuerySet:
    """The users who hold `perms` (the team a conversation can be given to), by name, each with whether they take
    conversations given out in turn (`available`)."""
    available = UserPreference.objects.filter(user=OuterRef("pk"), is_available=True)
    return users_with_perms(perms).annotate(available=Exists(available))


def api_tokens(*, user=None):
    """The tokens (of `user`, or everyone's), with their users, by user then newest first."""
    tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created")
    return tokens if user is None else tokens.filter(user=user)


def api_token_by_key(*, key: str, user=None) -> ApiToken | None:
    """The one token whose public start is `key` (of `user`, when given); None for none, or for a start that two
    tokens share."""
    found = list(api_tokens(user=user).filter(token_key=key)[:2])
    return found[0] if len(found) == 1 else None


def user_is_available(*, user) -> bool:
    """Whether the user takes new conversations when they are assigned automatically (no preference yet: not)."""
    return UserPreference.objects.filter(user=user, is_available=True).exists()
