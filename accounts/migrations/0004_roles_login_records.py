"""Operators read and delete (unlock) login failures and read sign-ins through the accounts proxies: the admin shows
axes' records there (accounts.admin), so the permissions on axes' own models no longer open anything.

The lists are this migration's own copy of the roles, as they were when it was written.
"""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("accounts.migrations.0002_roles").ROLES

ROLES = {
    "Agents": BEFORE["Agents"],
    "Operators": [
        *(perm for perm in BEFORE["Operators"] if not perm.startswith("axes.")),
        "accounts.view_loginfailure",
        "accounts.delete_loginfailure",
        "accounts.view_signin",
    ],
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_login_records")]

    operations = [migrations.RunPython(forwards, backwards)]
