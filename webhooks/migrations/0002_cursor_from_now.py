"""The dispatcher starts from the newest event: a first subscription hears of what happens after it, not of the
events kept from before."""

from django.db import migrations


def forwards(apps, schema_editor):
    Event = apps.get_model("notifications", "Event")
    DispatchCursor = apps.get_model("webhooks", "DispatchCursor")
    newest = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    DispatchCursor.objects.update_or_create(pk=1, defaults={"position": newest})


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("notifications", "0009_event_lead_created"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
