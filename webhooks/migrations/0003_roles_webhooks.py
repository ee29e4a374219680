"""Operators manage the outbound webhooks (their subscriptions) and read their deliveries; agents do not.

The lists are this migration's own copy of the roles, as they were when it was written; it lives in this app so it
runs once the models (and so their permissions) exist."""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("retention.migrations.0002_roles_retention_runs").ROLES

ROLES = {
    "Agents": BEFORE["Agents"],
    "Operators": [
        *BEFORE["Operators"],
        "webhooks.view_subscription",
        "webhooks.add_subscription",
        "webhooks.change_subscription",
        "webhooks.delete_subscription",
        "webhooks.view_delivery",
    ],
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_cursor_from_now"),
        ("retention", "0002_roles_retention_runs"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
