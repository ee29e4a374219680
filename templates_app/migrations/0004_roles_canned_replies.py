"""Operators manage the team's canned replies in the admin (agents keep their own on their page).

The lists are this migration's own copy of the roles, as they were when it was written."""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("conversations.migrations.0003_roles_conversations").ROLES

ROLES = {
    "Agents": BEFORE["Agents"],
    "Operators": [
        *BEFORE["Operators"],
        "templates_app.view_cannedreply",
        "templates_app.add_cannedreply",
        "templates_app.change_cannedreply",
        "templates_app.delete_cannedreply",
    ],
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0003_canned_replies"),
        ("conversations", "0003_roles_conversations"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
