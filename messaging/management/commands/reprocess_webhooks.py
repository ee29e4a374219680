import datetime
import uuid

from django.core.management.base import BaseCommand, CommandError

from happycrm.audit import audit_record, command_message, command_user
from messaging.models import WebhookEvent
from messaging.selectors import webhook_events_unfinished
from messaging.services.webhooks import webhook_events_reprocess, webhook_events_sweep


class Command(BaseCommand):
    help = (
        "Process Twilio webhook events that were left unprocessed (broker down, lost task, crash), here and now. "
        "With --queue, hand them to the workers instead, as the periodic sweep does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=30, metavar="SECONDS", help="skip younger events")
        parser.add_argument(
            "--include-failed", action="store_true", help="also events that used up their automatic retries"
        )
        parser.add_argument("--retry-rejected", action="store_true", help="also events that ended as rejected")
        parser.add_argument("--event", action="append", default=[], metavar="ID", help="only this event (repeatable)")
        parser.add_argument("--queue", action="store_true", help="queue them for the workers (the periodic sweep)")

    def handle(self, *args, **options):
        if options["older_than"] < 0:
            raise CommandError("--older-than must be zero or more seconds.")
        if options["queue"]:
            counts = webhook_events_sweep()
            summary = "Queued {events} events and {media} attachments; {replayed} early status callbacks applied."
            summary = summary.format(**counts)
            self._audit(summary)
            self.stdout.write(summary)
            return
        if options["event"]:
            wanted = self._uuids(options["event"])
            found = set(WebhookEvent.objects.filter(pk__in=wanted).values_list("pk", flat=True))
            missing = [pk for pk in wanted if pk not in found]
            if missing:
                raise CommandError(f"No webhook event {missing[0]}.")
            event_ids = wanted
        else:
            events = webhook_events_unfinished(
                older_than=datetime.timedelta(seconds=options["older_than"]),
                include_failed=options["include_failed"],
            )
            event_ids = list(events.values_list("pk", flat=True))
            if options["retry_rejected"]:
                rejected = WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.REJECTED)
                event_ids += list(rejected.values_list("pk", flat=True))
        counts = webhook_events_reprocess(event_ids=event_ids, retry_rejected=options["retry_rejected"])
        summary = "{processed} processed, {rejected} rejected, {failed} failed.".format(
            processed=counts["processed"], rejected=counts["rejected"], failed=counts["failed"]
        )
        self._audit(summary, event_ids=event_ids if options["event"] else ())
        if counts["failed"]:
            raise CommandError(f"{summary} See the events' last error in the admin.")
        self.stdout.write(summary)

    @staticmethod
    def _audit(summary: str, event_ids=()) -> None:
        """On each event named with --event, else one line on the webhook events."""
        audit_record(
            user=command_user(),
            message=command_message("reprocess_webhooks", summary),
            objects=WebhookEvent.objects.filter(pk__in=event_ids) if event_ids else (),
            model=WebhookEvent,
        )

    @staticmethod
    def _uuids(values):
        try:
            return [uuid.UUID(value) for value in values]
        except ValueError as exc:
            raise CommandError(f"Not an event id: {exc}.") from None
