"""Fill the parties of the events stored before the columns existed, in batches, through each provider's parser."""

from django.db import migrations

BATCH = 1000


def fill(apps, schema_editor):
    from messaging.services.webhooks import event_parties

    WebhookEvent = apps.get_model("messaging", "WebhookEvent")
    events = WebhookEvent.objects.filter(sender="", recipient="").only("pk", "provider", "payload").order_by("pk")
    last = None
    while True:
        page = events.filter(pk__gt=last) if last else events
        batch = list(page[:BATCH])
        if not batch:
            return
        for event in batch:
            event.sender, event.recipient = event_parties(provider=event.provider, payload=event.payload)
        WebhookEvent.objects.bulk_update(batch, ["sender", "recipient"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("messaging", "0012_webhook_parties_and_tombstones")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
