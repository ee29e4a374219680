from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from retention.services import KINDS, retention_prune


class Command(BaseCommand):
    help = (
        "Delete processed webhook events, notification events and provider exchanges older than their RETENTION_* ages."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=None, help="Rows per DELETE statement (default 5000).")

    def handle(self, *args, dry_run, batch_size, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        run = retention_prune(dry_run=dry_run, **({"batch_size": batch_size} if batch_size else {}))
        verb = _("would be deleted") if dry_run else _("deleted")
        for kind in KINDS:
            result = run.results[kind.key]
            if result["error"]:
                self.stderr.write(f"{kind.label}: {result['error']}")
            else:
                self.stdout.write(
                    _("%(kind)s older than %(days)s days: %(count)s %(verb)s")
                    % {"kind": kind.label, "days": result["days"], "count": result["deleted"], "verb": verb}
                )
        if run.failed:
            raise CommandError(_("Some kinds could not be pruned (see above)."))
