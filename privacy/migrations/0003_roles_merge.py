"""Agents (from the conversation's panel) and operators (in the admin) merge duplicate leads.

The lists are this migration's own copy of the roles, as they were when it was written."""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("leads.migrations.0008_roles_labels_agents_add_leads").ROLES

ROLES = {
    "Agents": [*BEFORE["Agents"], "privacy.merge_lead"],
    "Operators": [*BEFORE["Operators"], "privacy.merge_lead"],
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0002_lead_merge"),
        ("leads", "0008_roles_labels_agents_add_leads"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
