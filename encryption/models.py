from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KeyInUse(models.Model):
    """A key id that stored values may be encrypted under (happycrm.crypto). Written by each process as it starts
    (its newest key) and set exactly by `manage.py encryption` after it counted the rows; the start-up check reads
    this small table instead of scanning every encrypted column."""

    key_id = models.CharField(_("key id"), max_length=16, unique=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["key_id"]
        verbose_name = _("encryption key in use")
        verbose_name_plural = _("encryption keys in use")

    def __str__(self):
        return self.key_id
