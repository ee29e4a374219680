import django.db.models.deletion
from django.db import migrations, models
from django.db.migrations.operations.base import Operation


class SidUniqueAsConstraint(Operation):
    """The SID's uniqueness moves from unique=True to Meta's constraint. On PostgreSQL the unique index stays as it
    is (no rebuild of a large table): the constraint is renamed and the LIKE index dropped. Elsewhere (SQLite) the
    field and the constraint are altered as Django alters them."""

    reversible = True

    def __init__(self):
        self.alter = migrations.AlterField(
            model_name="message",
            name="twilio_message_sid",
            field=models.CharField(blank=True, max_length=64, null=True, verbose_name="Twilio message SID"),
        )
        self.add = migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(fields=("twilio_message_sid",), name="message_sid_unique"),
        )

    def deconstruct(self):
        return self.__class__.__name__, [], {}

    def state_forwards(self, app_label, state):
        self.alter.state_forwards(app_label, state)
        self.add.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            self.alter.database_forwards(app_label, schema_editor, from_state, to_state)
            self.add.database_forwards(app_label, schema_editor, from_state, to_state)
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT con.conname FROM pg_constraint con JOIN pg_attribute att ON att.attrelid = con.conrelid "
                "AND att.attnum = ALL (con.conkey) WHERE con.conrelid = 'messaging_message'::regclass "
                "AND con.contype = 'u' AND att.attname = 'twilio_message_sid'"
            )
            (name,) = cursor.fetchone()
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'messaging_message' "
                "AND indexdef LIKE '%%(twilio_message_sid varchar_pattern_ops)%%'"
            )
            like = [row[0] for row in cursor.fetchall()]
        quote = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE messaging_message RENAME CONSTRAINT {quote(name)} TO message_sid_unique")
        for index in like:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(index)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            self.add.database_backwards(app_label, schema_editor, from_state, to_state)
            self.alter.database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, "message")
        field = model._meta.get_field("twilio_message_sid")
        unique = schema_editor._create_index_name(model._meta.db_table, [field.column], suffix="_uniq")
        schema_editor.execute(f"ALTER TABLE messaging_message RENAME CONSTRAINT message_sid_unique TO {unique}")
        schema_editor.execute(schema_editor._create_like_index_sql(model, field))

    def describe(self):
        return "The message SID unique through a constraint, without its LIKE index"


class Migration(migrations.Migration):
    """Two indexes fewer on messages, each written by every insert and every status change (a campaign message has
    five: the insert, the send's claim and SID, and usually three callbacks): the lead's own index, which
    message_thread_idx (lead, newest first) covers, and the LIKE index PostgreSQL built beside the SID's unique
    one, which nothing reads."""

    dependencies = [
        ("leads", "0005_lead_import_queued_at"),
        ("messaging", "0017_webhook_equality_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="lead",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="leads.lead",
                verbose_name="lead",
            ),
        ),
        SidUniqueAsConstraint(),
    ]
