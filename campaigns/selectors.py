import datetime

from django.db.models import BooleanField, Count, ExpressionWrapper, F, FilteredRelation, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from happycrm.timestamps import local_timestamp
from messaging.models import Channel, Message, MessageStatus
from messaging.selectors import send_duration

from .models import Campaign, CampaignRecipient

R = CampaignRecipient.Outcome
SENT = [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PARTIALLY_DELIVERED]
FAILED = [MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.CANCELED]
# A campaign message's statuses before a final one (delivered, read, partially delivered, undelivered, failed,
# canceled): its recipient's outcome may still change.
AWAITING = [
    MessageStatus.ACCEPTED,
    MessageStatus.SCHEDULED,
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
]


def campaigns_run_lost(*, older_than: datetime.timedelta, not_started_after: datetime.timedelta) -> list[str]:
    """Running campaigns whose run is not progressing: never started `not_started_after` after it was queued (its
    task was refused or lost: the broker was down), or no message made for any recipient since `older_than` ago
    (the run died midway)."""
    now = timezone.now()
    latest = Message.objects.filter(campaign_recipient__campaign=OuterRef("pk")).order_by("-created_at")
    progress_at = Coalesce(Subquery(latest.values("created_at")[:1]), "started_at", "start_at", "created_at")
    never_started = Q(started_at__isnull=True) & Q(queued_at__lt=now - not_started_after)
    lost = (
        Campaign.objects.filter(status=Campaign.Status.RUNNING, run_completed_at__isnull=True)
        .annotate(progress_at=progress_at, queued_at=Coalesce("start_at", "created_at"))
        .filter(never_started | Q(progress_at__lt=now - older_than))
    )
    return [str(pk) for pk in lost.values_list("pk", flat=True)]


def _with_message(recipients):
    """The recipients joined to their messages through the join's own condition `bulk` (every campaign message is
    queued in bulk): PostgreSQL then reads the statuses from the bulk messages' covering index alone."""
    return recipients.annotate(bulk_message=FilteredRelation("message", condition=Q(message__bulk=True)))


def latest_inbound_channel(lead_ref: str) -> Subquery:
    """The channel the lead at `lead_ref` (an outer query's path to it) last wrote on, None if it never did:
    `lead_default_channel`'s rule for a whole chunk of leads in one query."""
    latest = Message.objects.filter(lead=OuterRef(lead_ref), is_from_lead=True).order_by("-created_at")
    return Subquery(latest.values("channel")[:1])


def campaign_unfinished(*, campaign_id, settled: bool = False) -> bool:
    """Whether any recipient's outcome may still change: pending, or queued with a message whose status is not
    final yet. Once `settled`, only a pending one: a delivery report that has not come by then may never come. One
    query on the recipients' (campaign, outcome) index (joined to the bulk messages' index unless settled); it
    stops at the first one found."""
    recipients = CampaignRecipient.objects.filter(campaign_id=campaign_id)
    if settled:
        return recipients.filter(outcome=R.PENDING).exists()
    recipients = _with_message(recipients)
    return recipients.filter(Q(outcome=R.PENDING) | Q(outcome=R.QUEUED, bulk_message__status__in=AWAITING)).exists()


def campaigns_awaiting_outcomes(*, settled_before: datetime.datetime) -> list[tuple]:
    """The campaigns whose run is over (every recipient queued, skipped or canceled) but not yet finished, each as
    (id, settled): whether its run completed before `settled_before`."""
    return list(
        Campaign.objects.filter(
            status__in=[Campaign.Status.RUNNING, Campaign.Status.CANCELED],
            run_completed_at__isnull=False,
            finished_at__isnull=True,
        )
        .annotate(settled=ExpressionWrapper(Q(run_completed_at__lt=settled_before), output_field=BooleanField()))
        .values_list("pk", "settled")
    )


def _progress_rows(recipients):
    """Recipients counted by (campaign, outcome, message status, handed to the provider, needs attention): a few
    rows per campaign, from the indexes alone."""
    return (
        _with_message(recipients)
        .values(
            "campaign_id",
            "outcome",
            status=F("bulk_message__status"),
            handed=ExpressionWrapper(Q(bulk_message__twilio_message_sid__isnull=False), output_field=BooleanField()),
            attention=F("bulk_message__needs_attention"),
        )
        .annotate(count=Count("pk"))
        .order_by()
    )


def _empty_progress() -> dict:
    return {
        "total": 0,
        "pending": 0,
        "skipped": 0,
        "canceled": 0,
        "sent": 0,
        "failed": 0,
        "attention": 0,
        "final": 0,
        "unconfirmed": 0,
        "unsent": 0,
        "outcomes": dict.fromkeys(R.values, 0),
        "message_statuses": {},
    }


def _progress_add(counts: dict, row: dict) -> None:
    count, outcome, status = row["count"], row["outcome"], row["status"]
    counts["total"] += count
    counts["outcomes"][outcome] = counts["outcomes"].get(outcome, 0) + count
    if status is not None:
        counts["message_statuses"][status] = counts["message_statuses"].get(status, 0) + count
    if row["attention"]:
        counts["attention"] += count
    if outcome == R.PENDING:
        counts["pending"] += count
    elif outcome.startswith("skipped"):
        counts["skipped"] += count
    elif outcome == R.CANCELED:
        counts["canceled"] += count
    elif status in SENT or (status == MessageStatus.QUEUED and row["handed"]):
        counts["sent"] += count
    elif status in FAILED:
        counts["failed"] += count
    if outcome == R.QUEUED and status in AWAITING:
        counts["unconfirmed"] += count
    elif outcome != R.PENDING:
        counts["final"] += count
    if outcome == R.QUEUED and status == MessageStatus.QUEUED and not row["handed"]:
        counts["unsent"] += count


def _progress_finish(counts: dict) -> dict:
    counts["queued"] = (
        counts["total"] - counts["pending"] - counts["skipped"] - counts["canceled"] - counts["sent"] - counts["failed"]
    )
    done = counts["sent"] + counts["failed"] + counts["skipped"] + counts["canceled"]
    counts["percent"] = round(100 * done / counts["total"]) if counts["total"] else 100
    return counts


def _unsent_by_channel(campaign_ids) -> dict:
    """The queued messages no worker has handed to the provider yet, by campaign and channel."""
    rows = (
        Message.objects.filter(
            campaign_recipient__campaign_id__in=campaign_ids,
            bulk=True,
            status=MessageStatus.QUEUED,
            twilio_message_sid__isnull=True,
        )
        .values("campaign_recipient__campaign_id", "channel")
        .annotate(count=Count("pk"))
        .order_by()
    )
    unsent: dict = {}
    for row in rows:
        unsent.setdefault(row["campaign_recipient__campaign_id"], {})[row["channel"]] = row["count"]
    return unsent


def _estimated_end(campaign: Campaign, counts: dict, unsent: dict, now) -> datetime.datetime | None:
    """When the last message should be handed to the provider at the senders' rates: pending recipients on
    WhatsApp (the channel of a lead who never wrote), queued ones on their own. None when nothing is left to send
    (finished, canceled, or waiting only for delivery reports)."""
    left = counts["pending"] + counts["unsent"]
    if campaign.status in (Campaign.Status.DONE, Campaign.Status.CANCELED) or not left:
        return None
    channels = dict(unsent)
    channels[Channel.WHATSAPP] = channels.get(Channel.WHATSAPP, 0) + counts["pending"]
    start = max(campaign.start_at, now) if campaign.status == Campaign.Status.SCHEDULED and campaign.start_at else now
    return start + send_duration(counts=channels)


def campaigns_progress(*, campaigns, estimate: bool = True) -> dict:
    """Each campaign's progress, by its id: counts by outcome and by message status, sent (the provider took it),
    failed, skipped, canceled, waiting, final, unconfirmed (given a message with no final report yet), the share
    done and (with `estimate`) the estimated end. One query, and one more for the estimate while some messages
    wait for a worker."""
    campaigns = list(campaigns)
    progress = {campaign.pk: _empty_progress() for campaign in campaigns}
    for row in _progress_rows(CampaignRecipient.objects.filter(campaign__in=[c.pk for c in campaigns])):
        _progress_add(progress[row["campaign_id"]], row)
    unsent = {}
    if estimate and (waiting := [pk for pk, counts in progress.items() if counts["unsent"]]):
        unsent = _unsent_by_channel(waiting)
    now = timezone.now()
    for campaign in campaigns:
        counts = _progress_finish(progress[campaign.pk])
        if estimate:
            counts["estimated_end"] = _estimated_end(campaign, counts, unsent.get(campaign.pk, {}), now)
    return progress


def campaign_progress(*, campaign: Campaign, estimate: bool = True) -> dict:
    """One campaign's `campaigns_progress`."""
    return campaigns_progress(campaigns=[campaign], estimate=estimate)[campaign.pk]


def campaigns_outcomes(*, days: int = 30, limit: int = 5) -> list[dict]:
    """The latest campaigns created in the last `days` days with their progress, two queries whatever their number."""
    campaigns = list(
        Campaign.objects.filter(created_at__gte=timezone.now() - datetime.timedelta(days=days))
        .select_related("template")
        .order_by("-created_at")[:limit]
    )
    progress = campaigns_progress(campaigns=campaigns, estimate=False)
    return [{"campaign": campaign, **progress[campaign.pk]} for campaign in campaigns]


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
