from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views import i18n
from django.views.decorators.http import require_POST

from .services import user_language_set

NO_EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # EMAIL_URL unset (or dummymail://)


def password_reset_available() -> bool:
    """A password can be reset by email only where email goes somewhere (EMAIL_URL; the console in local runs)."""
    return settings.EMAIL_BACKEND != NO_EMAIL_BACKEND


class LoginView(auth_views.LoginView):
    """Django's login, offering "forgot password" only where a reset can be mailed (else: ask an administrator)."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "password_reset_available": password_reset_available()}


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset; without email it sends nothing and says whom to ask instead."""

    extra_email_context = {"site_name": "Happy CRM"}

    def dispatch(self, request, *args, **kwargs):
        if not password_reset_available():
            return render(request, "registration/password_reset_unavailable.html")
        return super().dispatch(request, *args, **kwargs)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a login refused by the lockout: a page that says so and for how long."""
    now = timezone.now()
    cool_off = get_cool_off(request)
    context = {
        "cool_off": timeuntil(now + cool_off, now) if cool_off else "",
        "failure_limit": get_failure_limit(request, credentials),
    }
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


@require_POST
def language_switch(request):
    """Django's set_language (the cookie and the redirect), and for a logged-in user their saved choice."""
    response = i18n.set_language(request)
    language = request.POST.get(i18n.LANGUAGE_QUERY_PARAMETER, "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_language_set(user=request.user, language=language, session=request.session)
    return response
