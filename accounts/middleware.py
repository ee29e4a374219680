from django.utils import translation

from .services import LANGUAGE_SESSION_KEY


class UserLanguageMiddleware:
    """The logged-in user's chosen language wins over the browser's (after LocaleMiddleware and authentication).

    The choice is copied into the session at login and on switching, and a logout flushes it: no query here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request.session.get(LANGUAGE_SESSION_KEY)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
