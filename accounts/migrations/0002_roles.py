"""The roles as data: the groups Agents and Operators with their model permissions.

The lists are this migration's own copy, as the roles were when it was written; a later change to
accounts.roles.ROLES comes with a migration of its own (a test compares the migrated groups with ROLES).
"""

from django.db import migrations

from accounts.roles import roles_sync

ROLES = {
    "Agents": [
        "leads.view_lead",
        "leads.change_lead",
        "leads.view_stage",
        "messaging.view_message",
        "messaging.add_message",
        "messaging.change_message",
        "messaging.view_messagemedia",
        "templates_app.view_template",
    ],
    "Operators": [
        "leads.view_lead",
        "leads.add_lead",
        "leads.change_lead",
        "leads.view_stage",
        "leads.add_stage",
        "leads.change_stage",
        "leads.delete_stage",
        "messaging.view_message",
        "messaging.add_message",
        "messaging.change_message",
        "messaging.view_messagemedia",
        "messaging.view_webhookevent",
        "messaging.change_webhookevent",
        "messaging.view_campaign",
        "messaging.add_campaign",
        "messaging.change_campaign",
        "messaging.view_campaignrecipient",
        "templates_app.view_template",
        "templates_app.add_template",
        "templates_app.change_template",
        "templates_app.delete_template",
        "notifications.view_event",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
    ],
}


def create_roles(apps, schema_editor):
    roles_sync(apps, roles=ROLES)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_user_preference"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("axes", "0010_accessattemptexpiration"),
        ("leads", "0002_starter_pipeline"),
        ("messaging", "0003_campaigns"),
        ("notifications", "0002_read_events"),
        ("templates_app", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
