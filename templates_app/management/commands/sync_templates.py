from django.core.management.base import BaseCommand, CommandError

from happycrm.audit import audit_record, command_message, command_user
from templates_app.models import Template
from templates_app.services import TemplateSyncError, templates_sync


class Command(BaseCommand):
    help = "Sync WhatsApp content templates and their approval status from the WhatsApp provider's catalogue."

    def handle(self, *args, **options):
        try:
            report = templates_sync()
        except TemplateSyncError as exc:
            raise CommandError(str(exc)) from None
        audit_record(user=command_user(), message=command_message("sync_templates", report.summary()), model=Template)
        for label, names in (
            ("Created", report.created),
            ("Updated", report.updated),
            ("Deactivated", report.deactivated),
        ):
            for name in names:
                self.stdout.write(f"{label}: {name}")
        for failure in report.failed:
            self.stderr.write(f"Skipped {failure['sid'] or '?'}: {failure['error']}")
        self.stdout.write(report.summary())
