"""The campaign permissions are named campaigns.* since the models moved to their own app (campaigns 0002 relabelled
their content type, so the groups already hold them): this copy of the roles names them so, for the migrations that
build on it.

The lists are this migration's own copy of the roles, as they were when it was written.
"""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("accounts.migrations.0004_roles_login_records").ROLES
MOVED = {"messaging.view_campaign", "messaging.add_campaign", "messaging.change_campaign", "messaging.view_campaignrecipient"}

ROLES = {
    name: [perm.replace("messaging.", "campaigns.") if perm in MOVED else perm for perm in perms]
    for name, perms in BEFORE.items()
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_roles_login_records"),
        ("campaigns", "0002_content_types"),
    ]

    # Backwards there is nothing to undo: the groups hold the same rows, which campaigns 0002 labels back.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
