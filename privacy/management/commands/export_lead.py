import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from happycrm.audit import audit_record, command_by, command_user
from leads.phones import normalize_phone
from leads.selectors import lead_get, lead_get_by_exact_phone
from privacy.selectors.export import export_filename, lead_export


class Command(BaseCommand):
    help = (
        "Export everything held about one lead (its details, messages, delivery history and attachments) as a ZIP: "
        "the right of access. Attachment files that are missing are listed."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", dest="lead_id", help="the lead's id")
        which.add_argument("--phone", help="the lead's phone in any form; only the exact number matches")
        parser.add_argument(
            "--output", required=True, help="the ZIP file to write, or a folder to write lead-<id>.zip into"
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="the language of the ZIP's README and explanations (default: LANGUAGE_CODE)",
        )

    def handle(self, *args, language, **options):
        with translation.override(language):
            self._export(**options)

    def _export(self, *, lead_id, phone, output, **options):
        lead = self._lead(lead_id, phone)
        path = Path(output)
        if path.is_dir():
            path = path / export_filename(lead)
        if not path.parent.is_dir():
            raise CommandError(f"--output: the folder {str(path.parent)!r} does not exist.")
        # Written beside the target and renamed at the end: a failed export leaves no half-written ZIP.
        try:
            handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=".zip.part")
        except OSError as exc:
            raise CommandError(f"--output: cannot write to {str(path.parent)!r}: {exc.strerror}.") from None
        try:
            with os.fdopen(handle, "wb") as file:
                export = lead_export(lead=lead, output=file)
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        audit_record(
            user=command_user(),
            message=f"Exported the lead's data (manage.py export_lead, run by {command_by()}): {export.summary()}.",
            objects=[lead],
        )
        self.stdout.write(self.style.SUCCESS(f"Exported {lead.pk} to {path}: {export.summary()}."))
        for item in export.missing:
            self.stderr.write(f"Missing attachment file: {item}")

    def _lead(self, lead_id, phone):
        if lead_id is not None:
            lead = lead_get(pk=lead_id)
            if lead is None:
                raise CommandError(f"No lead has the id {lead_id!r}.")
            return lead
        try:
            e164 = normalize_phone(phone)
        except ValidationError as exc:
            raise CommandError(f"--phone: {exc.messages[0]}") from None
        lead = lead_get_by_exact_phone(e164=e164)
        if lead is None:
            raise CommandError(f"No lead has the phone {e164}.")
        return lead
