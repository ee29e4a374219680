"""Messages sent in bulk say so themselves: the sweep and the expected wait read `bulk` instead of asking whether
a campaign recipient points at the message. Existing campaign messages are marked."""

from django.db import migrations, models


def mark_campaign_messages(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    CampaignRecipient = apps.get_model("messaging", "CampaignRecipient")
    sent = CampaignRecipient.objects.filter(message__isnull=False).values("message_id")
    Message.objects.filter(pk__in=sent).update(bulk=True)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="bulk",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "One of many messages sent at once: they wait on a queue of their own, behind agents' replies."
                ),
                verbose_name="sent in bulk",
            ),
        ),
        migrations.RunPython(mark_campaign_messages, migrations.RunPython.noop),
    ]
