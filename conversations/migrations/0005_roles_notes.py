"""Agents read and write private notes in the threads.

The lists are this migration's own copy of the roles, as they were when it was written."""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("templates_app.migrations.0004_roles_canned_replies").ROLES

ROLES = {
    "Agents": [*BEFORE["Agents"], "conversations.view_note", "conversations.add_note"],
    "Operators": BEFORE["Operators"],
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0004_notes"),
        ("templates_app", "0004_roles_canned_replies"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
