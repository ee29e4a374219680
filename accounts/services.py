from django.conf import settings

from .models import UserPreference

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
