"""Agents and operators take, assign, resolve and snooze conversations.

The lists are this migration's own copy of the roles, as they were when it was written; it lives in this app so it
runs once the model (and so its permissions) exists."""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("webhooks.migrations.0003_roles_webhooks").ROLES
CONVERSATIONS = ["conversations.view_conversation", "conversations.change_conversation"]

ROLES = {name: [*codenames, *CONVERSATIONS] for name, codenames in BEFORE.items()}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0002_current_conversations"),
        ("webhooks", "0003_roles_webhooks"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
