from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from happycrm.audit import audit_record, command_message, command_user
from leads.phones import normalize_phone
from messaging.backends.simulator import PROVIDER as SIMULATOR
from messaging.backends.simulator import inbound_payload
from messaging.models import Channel, WebhookEvent
from messaging.services.webhooks import webhook_event_store


class Command(BaseCommand):
    help = "Inject an inbound message, as the simulator posts it, through the real webhook processing path."

    def add_arguments(self, parser):
        parser.add_argument("body", help="the message text")
        parser.add_argument("--from", dest="sender", required=True, help="the sender's phone, in any form")
        parser.add_argument("--sms", action="store_true", help="an SMS instead of a WhatsApp message")
        parser.add_argument("--name", default="", help="the sender's WhatsApp profile name")

    def handle(self, *args, body, sender, sms, name, **options):
        try:
            phone = normalize_phone(sender)
        except ValidationError as exc:
            raise CommandError(f"--from: {exc.messages[0]}") from None
        payload = inbound_payload(
            sender=phone, channel=Channel.SMS if sms else Channel.WHATSAPP, body=body, profile_name=name
        )
        sid = payload["sid"]
        with transaction.atomic():
            event = webhook_event_store(provider=SIMULATOR, payload=payload, signature_valid=None)
        event.refresh_from_db()
        what = f"{event.message_sid}: {event.get_outcome_display()}"
        audit_record(user=command_user(), message=command_message("simulate_inbound", what), objects=[event])
        if event.outcome == WebhookEvent.Outcome.STORED:
            self.stdout.write(self.style.SUCCESS(f"Stored {sid} from {phone}."))
        elif event.processed_at is None and not event.last_error:
            self.stdout.write(f"Queued {sid} from {phone} for the workers.")
        else:
            raise CommandError(f"Not stored: {event.last_error or event.get_outcome_display()}")
