"""Operators manage the labels in the admin; agents read them (the inbox, the API) and add the leads they start
conversations with. Uploading a lead file takes its own permission now, which operators hold (agents, who may add
a lead, may not import a file of them).

The lists are this migration's own copy of the roles, as they were when it was written."""

import importlib

from django.db import migrations

from accounts.roles import roles_sync

BEFORE = importlib.import_module("conversations.migrations.0005_roles_notes").ROLES

ROLES = {
    "Agents": [*BEFORE["Agents"], "leads.view_label", "leads.add_lead"],
    "Operators": [
        *BEFORE["Operators"],
        "leads.view_label",
        "leads.add_label",
        "leads.change_label",
        "leads.delete_label",
        "leads.add_leadimport",
    ],
}


def forwards(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def backwards(apps, schema_editor):
    roles_sync(apps, roles=BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0007_labels"),
        ("conversations", "0005_roles_notes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
