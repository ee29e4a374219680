from django.db.models import QuerySet

from messaging.models import Channel

from .models import Template


def templates_sendable(*, channel: str = Channel.WHATSAPP) -> QuerySet[Template]:
    """What agents and campaigns are offered: over WhatsApp, active templates WhatsApp approved; over SMS,
    every active template (a local one, without a content SID, included). The rest stay visible in the
    admin with their status and reason."""
    templates = Template.objects.filter(status=Template.Status.ACTIVE)
    if channel == Channel.WHATSAPP:
        templates = templates.filter(approval_status=Template.ApprovalStatus.APPROVED, content_sid__isnull=False)
    return templates
