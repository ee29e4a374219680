import datetime

from django.db.models import Count, FilteredRelation, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from happycrm.timestamps import local_timestamp
from messaging.models import Message, MessageStatus

from .models import Campaign, CampaignRecipient

R = CampaignRecipient.Outcome
SENT = [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PARTIALLY_DELIVERED]
FAILED = [MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.CANCELED]


def campaigns_run_lost(*, older_than: datetime.timedelta, not_started_after: datetime.timedelta) -> list[str]:
    """Running campaigns whose run is not progressing: never started `not_started_after` after it was queued (its
    task was refused or lost: the broker was down), or no message made for any recipient since `older_than` ago
    (the run died midway)."""
    now = timezone.now()
    latest = Message.objects.filter(campaign_recipient__campaign=OuterRef("pk")).order_by("-created_at")
    progress_at = Coalesce(Subquery(latest.values("created_at")[:1]), "started_at", "start_at", "created_at")
    never_started = Q(started_at__isnull=True) & Q(queued_at__lt=now - not_started_after)
    lost = (
        Campaign.objects.filter(status=Campaign.Status.RUNNING)
        .annotate(progress_at=progress_at, queued_at=Coalesce("start_at", "created_at"))
        .filter(never_started | Q(progress_at__lt=now - older_than))
    )
    return [str(pk) for pk in lost.values_list("pk", flat=True)]


def _with_message(recipients):
    """The recipients joined to their messages through the join's own condition `bulk` (every campaign message is
    queued in bulk): PostgreSQL then reads the statuses from the bulk messages' covering index alone."""
    return recipients.annotate(bulk_message=FilteredRelation("message", condition=Q(message__bulk=True)))


def _progress_counts() -> dict:
    message = "bulk_message__"
    return dict(
        total=Count("pk"),
        pending=Count("pk", filter=Q(outcome=R.PENDING)),
        skipped=Count("pk", filter=Q(outcome__startswith="skipped")),
        sent=Count(
            "pk",
            filter=Q(**{f"{message}status__in": SENT})
            | Q(**{f"{message}status": MessageStatus.QUEUED, f"{message}twilio_message_sid__isnull": False}),
        ),
        failed=Count("pk", filter=Q(**{f"{message}status__in": FAILED})),
        attention=Count("pk", filter=Q(**{f"{message}needs_attention": True})),
    )


def _progress_finish(counts: dict) -> dict:
    counts["queued"] = counts["total"] - counts["pending"] - counts["skipped"] - counts["sent"] - counts["failed"]
    finished = counts["sent"] + counts["failed"] + counts["skipped"]
    counts["percent"] = round(100 * finished / counts["total"]) if counts["total"] else 100
    return counts


def campaign_progress(*, campaign: Campaign) -> dict:
    """Counts by outcome, one query: sent (the provider took it), failed, skipped, waiting; and the share done."""
    recipients = _with_message(CampaignRecipient.objects.filter(campaign=campaign))
    return _progress_finish(recipients.aggregate(**_progress_counts()))


def campaigns_outcomes(*, days: int = 30, limit: int = 5) -> list[dict]:
    """The latest campaigns created in the last `days` days with their progress, two queries whatever their number."""
    campaigns = list(
        Campaign.objects.filter(created_at__gte=timezone.now() - datetime.timedelta(days=days))
        .select_related("template")
        .order_by("-created_at")[:limit]
    )
    rows = (
        _with_message(CampaignRecipient.objects.filter(campaign__in=campaigns))
        .values("campaign_id")
        .annotate(**_progress_counts())
        .order_by()
    )
    empty = {key: 0 for key in _progress_counts()}
    counts = {row.pop("campaign_id"): row for row in rows}
    return [{"campaign": campaign, **_progress_finish(dict(counts.get(campaign.pk, empty)))} for campaign in campaigns]


def lead_recipients_count(*, lead_id) -> int:
    return CampaignRecipient.objects.filter(lead_id=lead_id).count()


def campaign_audit_message(campaign: Campaign) -> str:
    """What the admin log says of a new campaign (the lead list's action and manage.py send_campaign)."""
    values = {"template": campaign.template.name, "count": campaign.recipients.count()}
    if campaign.status == Campaign.Status.RUNNING:
        return _("Created and started: the template “%(template)s” to %(count)d leads.") % values
    return _("Created, to start at %(start_at)s: the template “%(template)s” to %(count)d leads.") % {
        **values,
        "start_at": local_timestamp(campaign.start_at),
    }
