"""Reads of the accounts app: the personal API tokens, for the user's page and the command."""

from .models import ApiToken


def api_tokens(*, user=None):
    """The tokens (of `user`, or everyone's), with their users, by user then newest first."""
    tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created")
    return tokens if user is None else tokens.filter(user=user)


def api_token_by_key(*, key: str, user=None) -> ApiToken | None:
    """The one token whose public start is `key` (of `user`, when given); None for none, or for a start that two
    tokens share."""
    found = list(api_tokens(user=user).filter(token_key=key)[:2])
    return found[0] if len(found) == 1 else None
