from django.db import migrations, models

from happycrm.db.operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """The webhook events' SID, sender and recipient indexed for equality only: db_index=True also built a pattern
    (LIKE) index of each on PostgreSQL, which nothing reads and every stored and processed event wrote to.

    The new indexes are built first (concurrently on PostgreSQL, so the table keeps taking webhooks), then the old
    ones dropped."""

    atomic = False

    dependencies = [
        ("messaging", "0016_encrypted_fields"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="webhookevent",
            index=models.Index(fields=["message_sid"], name="webhook_sid_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="webhookevent",
            index=models.Index(fields=["sender"], name="webhook_sender_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="webhookevent",
            index=models.Index(fields=["recipient"], name="webhook_recipient_idx"),
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="message_sid",
            field=models.CharField(blank=True, max_length=64, verbose_name="message SID"),
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="recipient",
            field=models.CharField(blank=True, max_length=16, verbose_name="recipient"),
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="sender",
            field=models.CharField(blank=True, max_length=16, verbose_name="sender"),
        ),
    ]
