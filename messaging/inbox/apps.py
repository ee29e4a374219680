from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    """The agents' pages: the inbox and a conversation, with their templates and static files."""

    name = "messaging.inbox"
    label = "inbox"
    verbose_name = _("Inbox")
