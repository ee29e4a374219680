import uuid

from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from happycrm.audit import audit_record

from .forms import ApiTokenForm
from .selectors import api_token_by_key
from .selectors import api_tokens as api_tokens_of
from .services import api_token_create, api_token_revoke, user_language_set

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


FORM_NONCES = "accounts_api_token_forms"  # the session's unused token forms: a form sent twice makes one token


def _form_nonce(request) -> str:
    nonce = uuid.uuid4().hex
    request.session[FORM_NONCES] = [*request.session.get(FORM_NONCES, [])[-9:], nonce]
    return nonce


def _form_nonce_use(request) -> bool:
    """Whether the posted form is one this session was given and has not sent yet (then it counts as sent)."""
    nonces = request.session.get(FORM_NONCES, [])
    nonce = request.POST.get("form_nonce", "")
    if nonce not in nonces:
        return False
    request.session[FORM_NONCES] = [each for each in nonces if each != nonce]
    return True


@never_cache  # the answer that shows a new token is never kept by a cache or the browser's history
@login_required
def api_tokens(request):
    """The user's own API tokens: create one (its secret shown in this answer only), see when each was last used,
    revoke one. A form sent again (a reload of the answer) makes no second token and shows none."""
    created, form = None, ApiTokenForm(user=request.user)
    if request.method == "POST":
        if not _form_nonce_use(request):
            messages.info(request, _("That form was sent already: its token was made once and is not shown again."))
            return redirect("api_tokens")
        form = ApiTokenForm(request.POST, user=request.user)
        if form.is_valid():
            token, created = api_token_create(
                user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
            )
            audit_record(user=request.user, message=_("API token created."), objects=[token])
            form = ApiTokenForm(user=request.user)
    context = {
        "form": form,
        "form_nonce": _form_nonce(request),
        "tokens": api_tokens_of(user=request.user),
        "created": created,
    }
    return render(request, "accounts/api_tokens.html", context, status=400 if form.errors else 200)


@login_required  # first: an anonymous caller is sent to the login page whatever the method
@require_POST
def api_token_revoke_view(request):
    token = api_token_by_key(key=request.POST.get("key", ""), user=request.user)
    if token is None:
        messages.error(request, _("No such token of yours: it may have been revoked already."))
    else:
        audit_record(user=request.user, message=_("API token revoked."), objects=[token], deleted=True)
        api_token_revoke(token=token)
        messages.success(request, _("The token “%(name)s” no longer works.") % {"name": token.name})
    return redirect("api_tokens")
