from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EncryptionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "encryption"
    verbose_name = _("Encryption at rest")

    def ready(self):
        from django.core import checks

        from .checks import TAG, encryption_keys_check

        checks.register(encryption_keys_check, TAG)
