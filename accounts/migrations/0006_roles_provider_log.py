"""Operators read the provider HTTP log (messaging.ProviderLog) in the admin.

The lists are this migration's own copy of the roles, as they were when it was written.
"""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("accounts.migrations.0005_roles_campaigns_app").ROLES

ROLES = {
    "Agents": BEFORE["Agents"],
    "Operators": [*BEFORE["Operators"], "messaging.view_providerlog"],
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_roles_campaigns_app"),
        ("messaging", "0011_provider_log"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
