"""Template campaigns (the spec's scenario 2): every recipient once, queued in bulk, sent at the sender's rate."""

import datetime
import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from happycrm.queue import enqueue_on_commit, send
from leads.models import Label, Lead, Stage
from messaging.models import Channel, Message, MessageStatus
from messaging.selectors import send_duration
from messaging.services.outbound import (
    SendRefused,
    messages_cancel_unsent,
    messages_queue_bulk,
    template_message_build,
)
from notifications.services import event_campaign_finished
from templates_app.models import Template

from .models import Campaign, CampaignRecipient
from .selectors import (
    campaign_progress,
    campaign_unfinished,
    campaigns_awaiting_outcomes,
    campaigns_run_lost,
    latest_inbound_channel,
)

CHUNK = 500  # recipients turned into messages per transaction
# A run turns 500 recipients into messages in seconds: one that made none for this long is not running.
RUN_LOST_AFTER = datetime.timedelta(minutes=10)
# A run task is taken within seconds (the default queue, ahead of campaign batches): one not started after this
# was refused by a broker that was down, or lost.
RUN_NOT_STARTED_AFTER = datetime.timedelta(minutes=1)
R = CampaignRecipient.Outcome
logger = logging.getLogger(__name__)
RUN_TASK = "campaigns.run_campaign"


def campaign_create(
    *,
    name: str,
    template: Template,
    leads: Iterable[Lead] | None = None,
    stage: Stage | None = None,
    label: Label | None = None,
    parameters: Sequence[str] = (),
    start_at=None,
    created_by=None,
) -> Campaign:
    """A campaign for the given leads, or every lead of `stage` and/or with `label` (both given: the leads of the
    stage that have the label); started at once unless `start_at` is later. The one way campaigns are made: the
    lead list's action, `manage.py send_campaign` and the API."""
    _check_campaign(template=template, leads=leads, stage=stage, label=label)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            template=template,
            parameters=[str(value) for value in parameters],
            start_at=start_at,
            created_by=created_by,
        )
        campaign_add_recipients(campaign=campaign, leads=leads, stage=stage, label=label)
        if start_at is None or start_at <= timezone.now():
            campaign_start(campaign=campaign)
    return campaign


def _check_campaign(*, template: Template, leads, stage, label) -> None:
    """What refuses a whole campaign before any recipient is looked at (a creation and its dry run alike)."""
    if template.status != Template.Status.ACTIVE:
        raise SendRefused(_("The template %(name)s is inactive.") % {"name": template.name}, code="inactive")
    if template.content_sid and template.approval_status != Template.ApprovalStatus.APPROVED:
        raise SendRefused(
            _("WhatsApp has not approved the template %(name)s (%(status)s).")
            % {"name": template.name, "status": template.get_approval_status_display()},
            code="not_approved",
        )
    if leads is None and stage is None and label is None:
        raise SendRefused(_("Choose the leads, a stage or a label."), code="no_recipients")


def _leads(*, leads: Iterable[Lead] | None, stage: Stage | None, label: Label | None = None) -> QuerySet[Lead]:
    if stage is not None or label is not None:
        audience = Lead.objects.all()
        if stage is not None:
            audience = audience.filter(stage=stage)
        return audience.filter(labels=label) if label is not None else audience
    if isinstance(leads, QuerySet):
        return leads
    return Lead.objects.filter(pk__in=[lead.pk for lead in leads])


def campaign_add_recipients(
    *, campaign: Campaign, leads: Iterable[Lead] | None = None, stage: Stage | None = None, label: Label | None = None
):
    """Add leads; one already in the campaign stays as it is (a lead never gets the same campaign twice)."""
    lead_ids = _leads(leads=leads, stage=stage, label=label).values_list("pk", flat=True)
    CampaignRecipient.objects.bulk_create(
        (CampaignRecipient(campaign=campaign, lead_id=lead_id) for lead_id in lead_ids),
        batch_size=2000,
        ignore_conflicts=True,
    )


def campaign_start(*, campaign: Campaign) -> bool:
    """Mark it running and queue the run (once committed); `manage.py send_campaign --campaign` reruns it. A
    canceled campaign stays canceled (False)."""
    started = (
        Campaign.objects.filter(pk=campaign.pk)
        .exclude(status=Campaign.Status.CANCELED)
        .update(status=Campaign.Status.RUNNING, run_completed_at=None, finished_at=None)
    )
    if not started:
        return False
    campaign.status, campaign.run_completed_at, campaign.finished_at = Campaign.Status.RUNNING, None, None
    enqueue_on_commit(RUN_TASK, str(campaign.pk))
    return True


def campaigns_resume_lost() -> int:
    """Beat: run again the campaigns whose run task was lost (campaign_run picks up where it stopped); a run
    queued twice splits the remaining recipients between the two."""
    lost = campaigns_run_lost(older_than=RUN_LOST_AFTER, not_started_after=RUN_NOT_STARTED_AFTER)
    for campaign_id in lost:
        logger.warning("Campaign %s is running but not progressing: running it again", campaign_id)
        send(RUN_TASK, campaign_id)
    return len(lost)


def campaigns_start_due() -> int:
    """Beat: start scheduled campaigns whose time has come."""
    due = list(Campaign.objects.filter(status=Campaign.Status.SCHEDULED, start_at__lte=timezone.now()))
    for campaign in due:
        campaign_start(campaign=campaign)
    return len(due)


def recipient_decide(
    *, lead: Lead, template: Template, parameters: Sequence[str], channel: str | None
) -> tuple[str, str, Message | None]:
    """What a campaign does with one lead: (outcome, reason, the message to queue or None). The run and the dry run
    both ask here, so a dry run skips exactly whom the run would. `channel` is the one the lead last wrote on."""
    if lead.opted_out_at is not None:
        return R.SKIPPED_OPTED_OUT, "", None
    if not lead.phone:
        return R.SKIPPED_NO_PHONE, "", None
    try:
        message = template_message_build(
            lead=lead, template=template, parameters=parameters, channel=channel or Channel.WHATSAPP
        )
    except SendRefused as exc:
        return R.SKIPPED_REFUSED, exc.message, None
    return R.QUEUED, "", message


def campaign_run(*, campaign_id) -> Campaign:
    """Turn every pending recipient into a queued message, in bulk; safe to run again (only pending ones move).

    Each chunk takes only recipients still pending of a campaign still running, locked: a cancel (which turns the
    pending ones canceled, waiting for a chunk being made) is never raced into sending more."""
    campaign = Campaign.objects.select_related("template").get(pk=campaign_id)
    Campaign.objects.filter(pk=campaign.pk, started_at__isnull=True).update(started_at=timezone.now())
    while True:
        with transaction.atomic():
            recipients = list(
                CampaignRecipient.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(campaign=campaign, outcome=R.PENDING, campaign__status=Campaign.Status.RUNNING)
                .select_related("lead")
                .annotate(channel=latest_inbound_channel("lead"))[:CHUNK]
            )
            if not recipients:
                break
            messages = []
            for recipient in recipients:
                recipient.outcome, recipient.reason, message = recipient_decide(
                    lead=recipient.lead,
                    template=campaign.template,
                    parameters=campaign.parameters,
                    channel=recipient.channel,
                )
                if message is not None:
                    messages.append(message)
                    recipient.message = message
            messages_queue_bulk(messages=messages)
            CampaignRecipient.objects.bulk_update(recipients, ["outcome", "reason", "message"])
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.RUNNING, run_completed_at__isnull=True).update(
        run_completed_at=timezone.now()
    )
    campaign_finish_if_done(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


DRY_RUN_LISTED = 1000  # skipped leads listed by name in a dry run; the counts cover them all


def campaign_dry_run(
    *,
    template: Template,
    leads: Iterable[Lead] | None = None,
    stage: Stage | None = None,
    label: Label | None = None,
    parameters: Sequence[str] = (),
    start_at=None,
) -> dict:
    """What `campaign_create` with these arguments would do, doing none of it: who would be skipped and why
    (the run's own decision, `recipient_decide`), how many would be sent on each channel and how long sending
    them takes at the senders' rates. Raises SendRefused as the creation would."""
    _check_campaign(template=template, leads=leads, stage=stage, label=label)
    parameters = [str(value) for value in parameters]
    outcomes = dict.fromkeys([R.QUEUED, R.SKIPPED_OPTED_OUT, R.SKIPPED_NO_PHONE, R.SKIPPED_REFUSED], 0)
    channels: dict[str, int] = {}
    skipped = []
    rows = (
        _leads(leads=leads, stage=stage, label=label)
        .annotate(channel=latest_inbound_channel("pk"))
        .order_by("name", "pk")
    )
    for lead in rows.iterator(chunk_size=CHUNK):
        outcome, reason, message = recipient_decide(
            lead=lead, template=template, parameters=parameters, channel=lead.channel
        )
        outcomes[outcome] += 1
        if message is not None:
            channels[message.channel] = channels.get(message.channel, 0) + 1
        elif len(skipped) < DRY_RUN_LISTED:
            skipped.append({"lead": lead, "outcome": outcome, "reason": reason})
    duration = send_duration(counts=channels)
    start = max(start_at, timezone.now()) if start_at else timezone.now()
    return {
        "total": sum(outcomes.values()),
        "sent": outcomes[R.QUEUED],
        "sent_by_channel": channels,
        "skipped_count": sum(count for outcome, count in outcomes.items() if outcome != R.QUEUED),
        "skipped_by_outcome": {outcome: count for outcome, count in outcomes.items() if outcome != R.QUEUED},
        "skipped": skipped,
        "skipped_listed_all": len(skipped) == sum(count for o, count in outcomes.items() if o != R.QUEUED),
        "duration": duration,
        "estimated_start": start,
        "estimated_end": start + duration,
    }


def campaign_cancel(*, campaign: Campaign) -> Campaign:
    """Stop a scheduled or running campaign: its pending recipients, and the queued ones whose message no worker
    has handed to the provider yet, become canceled; what the provider already has goes on (and counts). The
    run stops picking recipients (it takes only pending ones of a running campaign). Raises SendRefused for a
    campaign that is done or canceled already. The admin's action and the API cancel through here."""
    with transaction.atomic():
        canceled = Campaign.objects.filter(
            pk=campaign.pk, status__in=[Campaign.Status.SCHEDULED, Campaign.Status.RUNNING]
        ).update(status=Campaign.Status.CANCELED, run_completed_at=Coalesce(F("run_completed_at"), timezone.now()))
        if not canceled:
            raise SendRefused(
                _("The campaign %(name)s is %(status)s: only a scheduled or running one can be canceled.")
                % {"name": campaign.name, "status": Campaign.Status(campaign.status).label.lower()},
                code="not_cancelable",
            )
        recipients = CampaignRecipient.objects.filter(campaign=campaign)
        # Waits for a chunk the run is making (its rows are locked), whose recipients are then queued, not pending.
        recipients.filter(outcome=R.PENDING).update(outcome=R.CANCELED)
        unsent = recipients.filter(
            outcome=R.QUEUED,
            message__status=MessageStatus.QUEUED,
            message__send_claimed_at__isnull=True,
            message__twilio_message_sid__isnull=True,
        ).values_list("message_id", flat=True)
        message_ids = messages_cancel_unsent(message_ids=list(unsent))
        for start in range(0, len(message_ids), CHUNK):
            recipients.filter(message_id__in=message_ids[start : start + CHUNK]).update(outcome=R.CANCELED)
    campaign_finish_if_done(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def settle_after() -> datetime.timedelta:
    """How long after its run completed a campaign waits for its messages' delivery reports (CAMPAIGN_SETTLE_HOURS):
    a report can be lost, or never come (a phone off for weeks)."""
    return datetime.timedelta(hours=settings.CAMPAIGN_SETTLE_HOURS)


def campaign_finish_if_done(*, campaign_id, settled: bool = False) -> bool:
    """Mark the campaign finished once every recipient's outcome is final (a running one becomes done; a canceled
    one keeps its status), and tell the outbound webhooks (a `campaign_finished` event). Only once: the update
    is conditional. Asked at the end of a run, by a cancel, and by the periodic sweep (never per status callback).

    `settled` (the sweep's word, for a campaign whose run completed `settle_after()` ago): the messages still
    without a final report no longer hold it. They are counted `unconfirmed` in the event and the progress and keep
    their status: a late report still updates its message, and the finished campaign stays as it is."""
    if campaign_unfinished(campaign_id=campaign_id, settled=settled):
        return False
    now = timezone.now()
    with transaction.atomic():
        waiting = Campaign.objects.filter(pk=campaign_id, run_completed_at__isnull=False, finished_at__isnull=True)
        if settled:  # as the row is now: a campaign run again since has not completed that long ago
            waiting = waiting.filter(run_completed_at__lt=now - settle_after())
        finished = waiting.filter(status=Campaign.Status.RUNNING).update(status=Campaign.Status.DONE, finished_at=now)
        finished = finished or waiting.filter(status=Campaign.Status.CANCELED).update(finished_at=now)
        if not finished:
            return False
        campaign = Campaign.objects.get(pk=campaign_id)
        progress = campaign_progress(campaign=campaign, estimate=False)
        event_campaign_finished(
            campaign_id=campaign.pk,
            payload={
                "name": campaign.name,
                "status": campaign.status,
                "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
                "finished_at": now.isoformat(),
                "counts": {key: progress[key] for key in FINISHED_COUNTS},
            },
        )
    return True


FINISHED_COUNTS = ("total", "sent", "failed", "skipped", "canceled", "unconfirmed")


def campaigns_finish_done() -> int:
    """Beat: the campaigns whose every message is queued, checked whether all their outcomes are final now (one
    query each), or finished without the missing reports once their run completed `settle_after()` ago; how many
    finished."""
    candidates = campaigns_awaiting_outcomes(settled_before=timezone.now() - settle_after())
    return sum(campaign_finish_if_done(campaign_id=pk, settled=settled) for pk, settled in candidates)


def recipients_move_to_lead(*, from_lead_id, to_lead_id) -> int:
    """A merge of two leads: the other lead's places in campaigns are the kept one's from now on, in the caller's
    transaction; how many moved. A lead is in a campaign once (campaign_lead_once): where both were, the kept
    lead's place stays and takes the other's outcome and message when only the other's was sent; the other's place
    is left behind for the erasure that follows, which removes it (the receipt counts it)."""
    with transaction.atomic(savepoint=False):
        rows = list(
            CampaignRecipient.objects.select_for_update().filter(lead_id__in=[from_lead_id, to_lead_id]).order_by("pk")
        )
        kept = {row.campaign_id: row for row in rows if row.lead_id == to_lead_id}
        both = [row for row in rows if row.lead_id == from_lead_id and row.campaign_id in kept]
        for other in both:
            place = kept[other.campaign_id]
            if other.message_id is None or place.message_id is not None:
                continue
            # The message is one place's (a one-to-one): the other's lets go of it first.
            CampaignRecipient.objects.filter(pk=other.pk).update(message=None)
            CampaignRecipient.objects.filter(pk=place.pk).update(
                message_id=other.message_id, outcome=other.outcome, reason=other.reason
            )
        staying = [row.pk for row in both]
        return CampaignRecipient.objects.filter(lead_id=from_lead_id).exclude(pk__in=staying).update(lead_id=to_lead_id)


def lead_recipients_erase(*, lead_id) -> int:
    """The lead's places in campaigns, for its erasure: how many were deleted (the campaigns stay)."""
    deleted, _ = CampaignRecipient.objects.filter(lead_id=lead_id).delete()
    return deleted
