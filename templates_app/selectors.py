from django.db.models import F, Q, QuerySet

from messaging.models import Channel

from .models import CannedReply, Template

CANNED_PICKER_SIZE = 8  # what the composer's list shows at once


def templates_sendable(*, channel: str = Channel.WHATSAPP) -> QuerySet[Template]:
    """What agents and campaigns are offered: over WhatsApp, active templates WhatsApp approved; over SMS,
    every active template (a local one, without a content SID, included). The rest stay visible in the
    admin with their status and reason."""
    templates = Template.objects.filter(status=Template.Status.ACTIVE)
    if channel == Channel.WHATSAPP:
        templates = templates.filter(approval_status=Template.ApprovalStatus.APPROVED, content_sid__isnull=False)
    return templates


def canned_replies_for(*, user, query: str = "") -> QuerySet[CannedReply]:
    """The replies `user` can pick: the team's and their own, by shortcut (their own first where both share one);
    with `query`, those whose shortcut starts with it or whose text holds it."""
    replies = CannedReply.objects.filter(Q(owner__isnull=True) | Q(owner=user))
    query = query.strip()
    if query:
        replies = replies.filter(Q(shortcut__istartswith=query) | Q(text__icontains=query))
    return replies.order_by("shortcut", F("owner").asc(nulls_last=True))
