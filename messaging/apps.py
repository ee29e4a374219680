from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self):
        from django.core import checks

        from .checks import backends_check, opt_words_check

        checks.register(backends_check)
        checks.register(opt_words_check)
