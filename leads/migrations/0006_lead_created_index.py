from django.db import migrations, models

from happycrm.db.operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """The API's lead list order, newest first, for all leads and the unread ones: built without locking out writes
    on a large table."""

    atomic = False

    dependencies = [
        ("leads", "0005_lead_import_queued_at"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="lead",
            index=models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="lead",
            index=models.Index(
                fields=["-created_at", "-id"], condition=models.Q(unread_count__gt=0), name="lead_unread_created_idx"
            ),
        ),
    ]
