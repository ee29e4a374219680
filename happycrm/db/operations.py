"""Migration operations for tables that are large in production."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexWithoutLocking(AddIndex):
    """AddIndex, built with CREATE INDEX CONCURRENTLY on PostgreSQL so the table keeps taking writes while it is
    built (the migration must be `atomic = False`); other databases build it as usual."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            concurrent = AddIndexConcurrently(self.model_name, self.index)
            return concurrent.database_forwards(app_label, schema_editor, from_state, to_state)
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            concurrent = AddIndexConcurrently(self.model_name, self.index)
            return concurrent.database_backwards(app_label, schema_editor, from_state, to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)
