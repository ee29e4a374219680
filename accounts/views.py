from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views import i18n
from django.views.decorators.http import require_POST

from .services import user_language_set


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
