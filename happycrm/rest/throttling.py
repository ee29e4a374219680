"""API throttling, counted in the shared cache (Redis in production), so every web process sees one count.

A request made with a token counts against the token (`API_THROTTLE_TOKEN`) and against its user
(`API_THROTTLE_USER`), a page's request against the user only: one integration cannot use up its user's pages,
and a user with ten tokens gets no more than the user's rate. Anonymous requests count per address
(`API_THROTTLE_ANONYMOUS`). Over the rate: 429 with Retry-After, in the API's error format. While the cache
cannot be reached, nothing is throttled.
"""

import logging

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class _SettingRateThrottle(SimpleRateThrottle):
    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting) or None  # empty: not throttled

    def allow_request(self, request, view):
        """A cache that cannot be reached lets the request through: a Redis outage must not take the API down
        (the readiness check reports Redis)."""
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("API throttling skipped: the cache cannot be reached", exc_info=True)
            return True


class TokenRateThrottle(_SettingRateThrottle):
    scope = "token"
    setting = "API_THROTTLE_TOKEN"

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if token is None or not hasattr(token, "token_key"):
            return None  # not a token request: the user's throttle counts it
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class UserRateThrottle(_SettingRateThrottle):
    scope = "user"
    setting = "API_THROTTLE_USER"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonymousRateThrottle(_SettingRateThrottle):
    scope = "anonymous"
    setting = "API_THROTTLE_ANONYMOUS"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
