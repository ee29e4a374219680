from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PruneRun(models.Model):
    """One run of retention (the periodic task or `manage.py prune`): what each app pruned, how many rows, when."""

    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # {kind: {"days": retention in days, "deleted": rows, "error": "" or why it failed}}
    results = models.JSONField(_("results"), default=dict)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M}"

    @property
    def deleted(self) -> int:
        return sum(result.get("deleted", 0) for result in self.results.values())

    @property
    def failed(self) -> bool:
        return any(result.get("error") for result in self.results.values())
