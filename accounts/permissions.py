"""What each action needs, named once: the pages, the API and the admin check these same tuples.

The groups that grant them are data (`roles.py`, created by a migration); a superuser has them all.
"""

from rest_framework.permissions import BasePermission

READ_CONVERSATIONS = ("leads.view_lead", "messaging.view_message")
SEND_MESSAGE = ("messaging.add_message",)
CHANGE_MESSAGE = ("messaging.change_message",)  # star, unstar, mark read
CHANGE_CONVERSATION = ("conversations.change_conversation",)  # take, assign, resolve, snooze, reopen
ADD_NOTE = ("conversations.add_note",)  # a private note in a thread, its @mentions
VIEW_LEADS = ("leads.view_lead",)  # the API's lead list and a lead's details
ADD_LEAD = ("leads.add_lead",)
EDIT_LEAD = ("leads.change_lead",)
VIEW_STAGES = ("leads.view_stage",)
ADD_STAGE = ("leads.add_stage",)
CHANGE_STAGE = ("leads.change_stage",)
DELETE_STAGE = ("leads.delete_stage",)
# A file creates and updates leads; uploading one is the admin's (agents add leads one at a time, from the inbox).
IMPORT_LEADS = ("leads.add_lead", "leads.change_lead", "leads.add_leadimport")
VIEW_LABELS = ("leads.view_label",)
ADD_LABEL = ("leads.add_label",)
CHANGE_LABEL = ("leads.change_label",)
DELETE_LABEL = ("leads.delete_label",)
# Canned replies: one's own go with sending (the composer offers them); the team's shared ones are the model's.
ADD_SHARED_REPLY = ("templates_app.add_cannedreply",)
CHANGE_SHARED_REPLY = ("templates_app.change_cannedreply",)
DELETE_SHARED_REPLY = ("templates_app.delete_cannedreply",)
VIEW_MEDIA = ("messaging.view_messagemedia",)
VIEW_TEMPLATES = ("templates_app.view_template",)
PREVIEW_TEMPLATE = ("templates_app.view_template", "leads.view_lead")
SYNC_TEMPLATES = ("templates_app.change_template",)
VIEW_CAMPAIGNS = ("campaigns.view_campaign",)
START_CAMPAIGN = ("campaigns.add_campaign",)
RUN_CAMPAIGN = ("campaigns.change_campaign",)
READ_DIAGNOSTICS = ("messaging.view_webhookevent",)
REPROCESS_WEBHOOK_EVENTS = ("messaging.change_webhookevent",)
ERASE_LEAD = ("privacy.erase_lead",)  # a lead and everything kept about it (the admin's delete, the API's)
# Two leads of one person made one: the other's messages, conversations and campaigns moved to the kept one, the
# other erased (the admin's merge, the inbox panel's); reading both comes with it.
MERGE_LEADS = ("privacy.merge_lead", "leads.view_lead", "leads.change_lead")
EXPORT_LEAD_DATA = (*READ_CONVERSATIONS, *VIEW_MEDIA)  # a lead's ZIP holds its conversation and attachments
# Outbound webhooks: their subscriptions, and the deliveries made to them (the payloads hold leads' messages).
VIEW_WEBHOOKS = ("webhooks.view_subscription",)
ADD_WEBHOOK = ("webhooks.add_subscription",)
CHANGE_WEBHOOK = ("webhooks.change_subscription",)
DELETE_WEBHOOK = ("webhooks.delete_subscription",)
VIEW_WEBHOOK_DELIVERIES = ("webhooks.view_subscription", "webhooks.view_delivery")
SEND_WEBHOOK = ("webhooks.change_subscription", "webhooks.view_delivery")  # a ping, a delivery resent


def has_perms(user, perms: tuple[str, ...]) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perms(perms))


def api_permission(perms: tuple[str, ...]) -> type[BasePermission]:
    """A DRF permission class for one of the tuples above (anonymous: 403 not authenticated; lacking: 403)."""

    class HasPermissions(BasePermission):
        def has_permission(self, request, view):
            return has_perms(request.user, perms)

    HasPermissions.__name__ = HasPermissions.__qualname__ = "Needs_" + "_".join(p.replace(".", "_") for p in perms)
    return HasPermissions
