"""Roles as data: the groups the migrations create, and the model permissions each one holds."""

from django.contrib.auth.management import create_permissions

AGENTS = "Agents"
OPERATORS = "Operators"

ROLES: dict[str, list[str]] = {
    # Use the inbox: read conversations, send, star and mark read, edit a lead's details, open attachments, take,
    # assign, resolve and snooze conversations, read and write private notes, read labels, add a lead to write to,
    # merge a lead's duplicate into it.
    AGENTS: [
        "leads.view_lead",
        "leads.change_lead",
        "leads.view_stage",
        "messaging.view_message",
        "messaging.add_message",
        "messaging.change_message",
        "messaging.view_messagemedia",
        "templates_app.view_template",
        "conversations.view_conversation",
        "conversations.change_conversation",
        "conversations.view_note",
        "conversations.add_note",
        "leads.view_label",
        "leads.add_lead",
        "privacy.merge_lead",
    ],
    # The admin's everyday work: leads, stages and labels, templates, campaigns, messages, webhook diagnostics, reading
    # the provider HTTP log, unlocking a login that was locked out, and the outbound webhooks.
    OPERATORS: [
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
        "messaging.view_providerlog",
        "campaigns.view_campaign",
        "campaigns.add_campaign",
        "campaigns.change_campaign",
        "campaigns.view_campaignrecipient",
        "templates_app.view_template",
        "templates_app.add_template",
        "templates_app.change_template",
        "templates_app.delete_template",
        "notifications.view_event",
        "accounts.view_loginfailure",
        "accounts.delete_loginfailure",
        "accounts.view_signin",
        "retention.view_prunerun",
        "webhooks.view_subscription",
        "webhooks.add_subscription",
        "webhooks.change_subscription",
        "webhooks.delete_subscription",
        "webhooks.view_delivery",
        "conversations.view_conversation",
        "conversations.change_conversation",
        "templates_app.view_cannedreply",
        "templates_app.add_cannedreply",
        "templates_app.change_cannedreply",
        "templates_app.delete_cannedreply",
        "leads.view_label",
        "leads.add_label",
        "leads.change_label",
        "leads.delete_label",
        "leads.add_leadimport",
        "privacy.merge_lead",
    ],
}


def roles_sync(apps, roles: dict[str, list[str]] = ROLES) -> None:
    """Make each group hold exactly its listed permissions, creating the permissions first (in a fresh database the
    post-migrate step that creates them has not run yet). `apps` is a migration's app registry or django.apps.apps;
    a migration passes its own copy of the roles, as they were when it was written."""
    for app_config in apps.get_app_configs():
        historical = getattr(app_config, "models_module", None) is None  # a migration's app configs have none
        if historical:
            app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        if historical:
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in roles.items():
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)
