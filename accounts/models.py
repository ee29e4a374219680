from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
