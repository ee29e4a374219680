from django.db import migrations, models

from happycrm.db.operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """The dashboard's month of messages, campaigns' progress and retention's oldest processed webhook events, read
    from indexes.

    Not atomic: on PostgreSQL each index is built concurrently, so the tables keep taking writes meanwhile."""

    atomic = False

    dependencies = [
        ("messaging", "0014_webhookevent_request_id"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="message",
            index=models.Index(fields=["created_at", "is_from_lead", "status"], name="message_created_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="message",
            index=models.Index(
                condition=models.Q(("is_from_lead", False), ("status__in", ["failed", "undelivered"])),
                fields=["created_at", "provider", "error_code"],
                name="message_failed_idx",
            ),
        ),
        AddIndexWithoutLocking(
            model_name="message",
            index=models.Index(
                condition=models.Q(("bulk", True)),
                fields=["id", "status", "needs_attention", "twilio_message_sid"],
                name="message_bulk_outcome_idx",
            ),
        ),
        AddIndexWithoutLocking(
            model_name="webhookevent",
            index=models.Index(
                condition=models.Q(("processed_at__isnull", False)),
                fields=["received_at"],
                name="webhook_processed_idx",
            ),
        ),
        AddIndexWithoutLocking(
            model_name="webhookevent",
            index=models.Index(
                condition=models.Q(("outcome", "rejected")), fields=["received_at"], name="webhook_rejected_idx"
            ),
        ),
    ]
