"""Operators read the retention runs (what was pruned, when) in the admin.

The lists are this migration's own copy of the roles, as they were when it was written; it lives in this app so it
runs once the model (and so its permission) exists."""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("accounts.migrations.0006_roles_provider_log").ROLES

ROLES = {
    "Agents": BEFORE["Agents"],
    "Operators": [*BEFORE["Operators"], "retention.view_prunerun"],
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_roles_provider_log"),
        ("retention", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
