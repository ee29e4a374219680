import logging
import uuid

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

PERMISSIONS_GENERATION_KEY = "permissions:generation"
PERMISSIONS_KEY = "permissions:{pk}:{joined}"
# A backstop only: every change made through the ORM (a user's groups or permissions, a group's permissions, a
# group or permission deleted) starts a new generation at once. A change made past the ORM (SQL by hand) is seen
# after this long.
PERMISSIONS_TIMEOUT = 300


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins made through a request (both login forms).

    authenticate() without a request (the test client's login(), a management command) has no client address
    to count failures under; it goes on to the next backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class CachedPermissionsBackend(ModelBackend):
    """Django's model permissions, each user's set kept in the shared cache: every API request and page checks
    them, and reading them is two joined queries (the user's own, its groups'), about 2 ms; the cache answers in
    one round trip with the generation it was read under.

    Any change to who has what starts a new generation (`permissions_changed`), so a set read before it is never
    used after it, in any process. A superuser's permissions are not kept (Django grants them without asking);
    the key holds the user's join time beside its id, so a database recreated under the same cache (a restored
    backup, a test run) cannot meet another user's set. While the cache cannot be reached, the database answers.
    """

    def get_all_permissions(self, user_obj, obj=None):
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = self._cached(user_obj)
        return user_obj._perm_cache

    def _cached(self, user_obj) -> set[str]:
        key = PERMISSIONS_KEY.format(pk=user_obj.pk, joined=user_obj.date_joined.timestamp())
        try:
            found = cache.get_many([PERMISSIONS_GENERATION_KEY, key])
            generation = found.get(PERMISSIONS_GENERATION_KEY)
            if generation is None:  # never set, or evicted: a new one (the sets kept under the last are not used)
                cache.add(PERMISSIONS_GENERATION_KEY, uuid.uuid4().hex, None)
                generation = cache.get(PERMISSIONS_GENERATION_KEY)
            kept = found.get(key)
            if kept is not None and kept[0] == generation:
                return set(kept[1])
        except Exception:
            logger.warning("Permissions read from the database: the cache cannot be reached", exc_info=True)
            return super().get_all_permissions(user_obj)
        permissions = super().get_all_permissions(user_obj)  # read after the generation: never older than it
        try:
            cache.set(key, (generation, sorted(permissions)), PERMISSIONS_TIMEOUT)
        except Exception:
            logger.warning("Permissions not kept: the cache cannot be reached", exc_info=True)
        return permissions


def permissions_changed() -> None:
    """Who has what changed: a new generation now (this transaction's own reads see it) and again once the change
    is committed (a set read meanwhile by another request, before the change was visible, is not used)."""

    def renew():
        try:
            cache.set(PERMISSIONS_GENERATION_KEY, uuid.uuid4().hex, None)
        except Exception:
            logger.warning("Permission change not announced: the cache cannot be reached", exc_info=True)

    renew()
    transaction.on_commit(renew)
