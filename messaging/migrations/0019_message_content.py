import happycrm.crypto
from django.db import migrations, models

from happycrm.db.operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """What a message carries beyond its text, in our terms (Message.content, MessageMedia.contacts), and whether it
    opted its lead out or in (Message.opt_change, with the index that finds a lead's latest).

    Not atomic: on PostgreSQL the index is built concurrently, so the table keeps taking writes meanwhile."""

    atomic = False

    dependencies = [
        ("messaging", "0018_message_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="content",
            field=happycrm.crypto.EncryptedJSONField(
                blank=True,
                default=dict,
                help_text="What the message carries beyond its text: a location, the option chosen, the message it "
                "quotes, the ad that started the conversation, why it opted the lead out or in.",
                verbose_name="content",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="opt_change",
            field=models.CharField(
                blank=True,
                choices=[("", "Nothing"), ("out", "Opted out"), ("in", "Opted in")],
                default="",
                help_text="Set when the message opted the lead out or in; its content says why.",
                max_length=3,
                verbose_name="opt-out or opt-in",
            ),
        ),
        migrations.AddField(
            model_name="messagemedia",
            name="contacts",
            field=happycrm.crypto.EncryptedJSONField(
                blank=True,
                default=list,
                help_text="The contacts a vCard holds (name and numbers), read from the file when it was stored.",
                verbose_name="contacts",
            ),
        ),
        AddIndexWithoutLocking(
            model_name="message",
            index=models.Index(
                condition=models.Q(("opt_change", ""), _negated=True),
                fields=["lead", "-created_at"],
                name="message_opt_change_idx",
            ),
        ),
    ]
