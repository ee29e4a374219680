from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_message_handoff"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookevent",
            name="original_fields",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=(
                    "Fields that held a NUL character (which the database cannot store), percent-encoded exactly as "
                    "received; the payload holds them with that character replaced by U+FFFD."
                ),
                verbose_name="original fields",
            ),
        ),
    ]
