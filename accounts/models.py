import datetime

from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

from happycrm.crypto import EncryptedJSONField
from happycrm.timestamps import local_timestamp


class UserPreference(models.Model):
    """A user's own settings, kept across sessions and browsers."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="preference",
        verbose_name=pgettext_lazy("field", "user"),
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    # Round-robin assignment (INBOX_AUTO_ASSIGN) gives new conversations to available agents, the longest waiting
    # first.
    is_available = models.BooleanField(
        pgettext_lazy("field", "available"),
        default=False,
        help_text=_("Takes new conversations when they are assigned automatically."),
    )
    last_assigned_at = models.DateTimeField(
        pgettext_lazy("field", "last given a conversation"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self):
        return str(self.user)


class LoginFailure(AccessAttempt):
    """django-axes' count of failed logins for one username from one address (what the lockout reads; deleting the
    row unlocks the pair), shown in our admin under a name that reads in a sentence, with a title in local time."""

    class Meta:
        proxy = True
        verbose_name = _("login failure")
        verbose_name_plural = _("login failures")

    def __str__(self):
        return f"{self.username} @ {local_timestamp(self.attempt_time, seconds=True)}"


class SignIn(AccessLog):
    """django-axes' record of a successful login (and its logout), shown in our admin like LoginFailure."""

    class Meta:
        proxy = True
        verbose_name = _("sign-in")
        verbose_name_plural = _("sign-ins")

    def __str__(self):
        return f"{self.username} @ {local_timestamp(self.attempt_time, seconds=True)}"


class ApiToken(AbstractAuthToken):
    """A personal API token (django-rest-knox's row: the SHA-256 of the token, its public first characters to find
    it by, the user, the expiry), named by its owner, with when it was last used. The token itself is shown once,
    when it is created; deleting the row revokes it."""

    # knox's fields, with names of our own (its own have none to translate); the same columns.
    token_key = models.CharField(
        _("start of the token"),
        max_length=CONSTANTS.MAXIMUM_TOKEN_PREFIX_LENGTH + CONSTANTS.TOKEN_KEY_LENGTH,
        db_index=True,
        help_text=_("Its first characters, which find it; not enough to use it."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="auth_token_set",
        verbose_name=pgettext_lazy("field", "user"),
        help_text=_("Whom the token acts as, with their permissions."),
    )
    created = models.DateTimeField(_("created at"), auto_now_add=True)
    expiry = models.DateTimeField(_("works until"), null=True, blank=True, help_text=_("Empty: until it is revoked."))
    name = models.CharField(_("name"), max_length=100)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    LAST_USED_EVERY = 60  # seconds: a token in constant use writes its last use at most once a minute

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.token_key}…)"


class IdempotentRequest(models.Model):
    """An API write sent with an `Idempotency-Key`: while it runs, and for a day after with the answer it got, so
    the same key from the same user gets that answer again instead of the write happening twice."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=pgettext_lazy("field", "user"),
    )
    key = models.CharField(_("key"), max_length=255)
    # The SHA-256 of the method, the path and the body: the same key with another request is refused.
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("answer's status"), null=True, blank=True)  # empty: running
    response = EncryptedJSONField(_("answer"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    KEPT = datetime.timedelta(hours=24)  # what the API promises

    class Meta:
        verbose_name = _("remembered API answer")
        verbose_name_plural = _("remembered API answers")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]

    def __str__(self):
        return self.key
