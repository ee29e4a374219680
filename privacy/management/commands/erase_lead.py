"""Erase a lead and everything kept about it: `manage.py erase_lead --phone +905551234567 [--dry-run]`."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from happycrm.audit import command_user
from happycrm.timestamps import local_timestamp
from leads.models import Lead
from leads.phones import normalize_phone
from privacy.selectors import lead_erase_counts, receipt_for_phone
from privacy.services import LeadAlreadyGone, Requester, lead_erase, provider_summary


class Command(BaseCommand):
    help = "Erase one lead: its messages, attachments, webhook events, logs, notifications and campaign places."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--phone", help="The lead's number, in any form (matched exactly, as E.164).")
        which.add_argument("--id", dest="lead_id", help="The lead's id.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be removed; change nothing.")

    def handle(self, *args, phone=None, lead_id=None, dry_run=False, **options):
        lead = self._lead(phone=phone, lead_id=lead_id)
        counts = lead_erase_counts(lead=lead)
        summary = ", ".join(f"{kind}={count}" for kind, count in counts.items())
        if dry_run:
            self.stdout.write(_("Dry run, nothing removed. Would remove: %(summary)s") % {"summary": summary})
            return
        try:
            receipt = lead_erase(lead=lead, requester=Requester.command(command_user()))
        except LeadAlreadyGone as exc:
            raise CommandError(str(exc)) from exc
        receipt.refresh_from_db()
        provider = ", ".join(f"{outcome}={count}" for outcome, count in provider_summary(receipt).items()) or "-"
        self.stdout.write(
            _("Erased (receipt #%(id)s): %(summary)s; at the provider: %(provider)s")
            % {"id": receipt.pk, "summary": summary, "provider": provider}
        )
        pending = receipt.pending_files.count()
        if pending:
            self.stderr.write(
                _("%(count)s stored files could not be removed yet; they are retried every 15 minutes.")
                % {"count": pending}
            )

    def _lead(self, *, phone, lead_id) -> Lead:
        if lead_id is not None:
            try:
                lead = Lead.objects.filter(pk=lead_id).first()
            except ValidationError:
                lead = None
            if lead is None:
                raise CommandError(_("No lead has the id %(id)s.") % {"id": lead_id})
            return lead
        try:
            e164 = normalize_phone(phone)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        lead = Lead.objects.filter(phone=e164).first()
        if lead is not None:
            return lead
        receipt = receipt_for_phone(e164=e164)
        if receipt is not None:
            raise CommandError(
                _("No lead has the number %(phone)s: it was erased before on %(when)s (receipt #%(id)s).")
                % {"phone": e164, "when": local_timestamp(receipt.erased_at), "id": receipt.pk}
            )
        raise CommandError(_("No lead has the number %(phone)s.") % {"phone": e164})
