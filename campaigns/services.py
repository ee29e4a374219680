"""Template campaigns (the spec's scenario 2): every recipient once, queued in bulk, sent at the sender's rate."""

import datetime
import logging
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from happycrm.queue import enqueue_on_commit, send
from leads.models import Lead, Stage
from messaging.models import Channel, Message
from messaging.services.outbound import SendRefused, messages_queue_bulk, template_message_build
from templates_app.models import Template

from .models import Campaign, CampaignRecipient
from .selectors import campaigns_run_lost

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
    parameters: Sequence[str] = (),
    start_at=None,
    created_by=None,
) -> Campaign:
    """A campaign for the given leads, or every lead of `stage`; started at once unless `start_at` is later."""
    if template.status != Template.Status.ACTIVE:
        raise SendRefused(_("The template %(name)s is inactive.") % {"name": template.name}, code="inactive")
    if template.content_sid and template.approval_status != Template.ApprovalStatus.APPROVED:
        raise SendRefused(
            _("WhatsApp has not approved the template %(name)s (%(status)s).")
            % {"name": template.name, "status": template.get_approval_status_display()},
            code="not_approved",
        )
    if leads is None and stage is None:
        raise SendRefused(_("Choose the leads or a stage."), code="no_recipients")
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            template=template,
            parameters=[str(value) for value in parameters],
            start_at=start_at,
            created_by=created_by,
        )
        campaign_add_recipients(campaign=campaign, leads=leads, stage=stage)
        if start_at is None or start_at <= timezone.now():
            campaign_start(campaign=campaign)
    return campaign


def campaign_add_recipients(*, campaign: Campaign, leads: Iterable[Lead] | None = None, stage: Stage | None = None):
    """Add leads; one already in the campaign stays as it is (a lead never gets the same campaign twice)."""
    lead_ids = (
        Lead.objects.filter(stage=stage).values_list("pk", flat=True)
        if stage is not None
        else [lead.pk for lead in leads]
    )
    CampaignRecipient.objects.bulk_create(
        (CampaignRecipient(campaign=campaign, lead_id=lead_id) for lead_id in lead_ids),
        batch_size=2000,
        ignore_conflicts=True,
    )


def campaign_start(*, campaign: Campaign) -> None:
    """Mark it running and queue the run (once committed); `manage.py send_campaign --campaign` reruns it."""
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    campaign.status = Campaign.Status.RUNNING
    enqueue_on_commit(RUN_TASK, str(campaign.pk))


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


def campaign_run(*, campaign_id) -> Campaign:
    """Turn every pending recipient into a queued message, in bulk; safe to run again (only pending ones move)."""
    campaign = Campaign.objects.select_related("template").get(pk=campaign_id)
    # Each lead on the channel it last wrote on (lead_default_channel, for a whole chunk in one query).
    latest_inbound_channel = (
        Message.objects.filter(lead=OuterRef("lead"), is_from_lead=True).order_by("-created_at").values("channel")[:1]
    )
    Campaign.objects.filter(pk=campaign.pk, started_at__isnull=True).update(started_at=timezone.now())
    while True:
        with transaction.atomic():
            recipients = list(
                CampaignRecipient.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(campaign=campaign, outcome=R.PENDING)
                .select_related("lead")
                .annotate(channel=Subquery(latest_inbound_channel))[:CHUNK]
            )
            if not recipients:
                break
            messages, outcomes = [], []
            for recipient in recipients:
                lead = recipient.lead
                if lead.opted_out_at is not None:
                    outcomes.append((recipient, R.SKIPPED_OPTED_OUT, ""))
                elif not lead.phone:
                    outcomes.append((recipient, R.SKIPPED_NO_PHONE, ""))
                else:
                    try:
                        message = template_message_build(
                            lead=lead,
                            template=campaign.template,
                            parameters=campaign.parameters,
                            channel=recipient.channel or Channel.WHATSAPP,
                        )
                    except SendRefused as exc:
                        outcomes.append((recipient, R.SKIPPED_REFUSED, exc.message))
                    else:
                        messages.append(message)
                        recipient.message = message
                        outcomes.append((recipient, R.QUEUED, ""))
            messages_queue_bulk(messages=messages)
            for recipient, outcome, reason in outcomes:
                recipient.outcome, recipient.reason = outcome, reason
            CampaignRecipient.objects.bulk_update([row for row, _, _ in outcomes], ["outcome", "reason", "message"])
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DONE, finished_at=timezone.now())
    campaign.refresh_from_db()
    return campaign


def lead_recipients_erase(*, lead_id) -> int:
    """The lead's places in campaigns, for its erasure: how many were deleted (the campaigns stay)."""
    deleted, _ = CampaignRecipient.objects.filter(lead_id=lead_id).delete()
    return deleted
