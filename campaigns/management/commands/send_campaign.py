import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from campaigns.selectors import campaign_audit_message, campaign_progress
from campaigns.services import campaign_create, campaign_start
from happycrm.audit import audit_record, command_message, command_user
from leads.models import Label, Stage
from messaging.services.outbound import SendRefused
from templates_app.models import Template


class Command(BaseCommand):
    help = (
        "Send a template to every lead of a stage and/or with a label as a campaign, or run an existing campaign again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--template", help="the template's name or content SID")
        parser.add_argument("--stage", help="the stage whose leads receive it")
        parser.add_argument(
            "--label", help="the label whose leads receive it (with --stage: the stage's leads with it)"
        )
        parser.add_argument("--param", action="append", default=[], help="a value for {{4}}, {{5}}, … (repeatable)")
        parser.add_argument("--name", help="the campaign's name (default: the template's)")
        parser.add_argument("--start-at", help="ISO date and time to start at (default: now)")
        parser.add_argument("--campaign", help="run this campaign again: recipients already sent are skipped")

    def handle(self, *args, **options):
        if options["campaign"]:
            campaign = self._campaign(options["campaign"])
            with transaction.atomic():
                if not campaign_start(campaign=campaign):
                    raise CommandError(f"Campaign {campaign.pk} was canceled: it is not run again.")
                what = _("Run again.")
        else:
            campaign = self._create(options)
            what = campaign_audit_message(campaign)
        audit_record(user=command_user(), message=command_message("send_campaign", what), objects=[campaign])
        counts = campaign_progress(campaign=campaign)
        self.stdout.write(
            f"Campaign {campaign.pk} “{campaign.name}”: {counts['total']} recipients, {counts['sent']} sent, "
            f"{counts['failed']} failed, {counts['skipped']} skipped, {counts['queued'] + counts['pending']} to go."
        )

    def _create(self, options):
        if not options["template"] or not (options["stage"] or options["label"]):
            raise CommandError("Give --template and --stage and/or --label (or --campaign to run one again).")
        template = Template.objects.filter(Q(name=options["template"]) | Q(content_sid=options["template"])).first()
        if template is None:
            raise CommandError(f"No template {options['template']!r}.")
        stage = label = None
        if options["stage"]:
            stage = Stage.objects.filter(name=options["stage"]).first()
            if stage is None:
                raise CommandError(f"No stage {options['stage']!r}.")
        if options["label"]:
            label = Label.objects.filter(name__iexact=options["label"]).first()
            if label is None:
                raise CommandError(f"No label {options['label']!r}.")
        start_at = None
        if options["start_at"]:
            start_at = parse_datetime(options["start_at"])
            if start_at is None:
                raise CommandError(f"--start-at: not a date and time: {options['start_at']!r}.")
            if timezone.is_naive(start_at):
                start_at = timezone.make_aware(start_at)
        try:
            return campaign_create(
                name=options["name"] or template.name,
                template=template,
                stage=stage,
                label=label,
                parameters=options["param"],
                start_at=start_at,
            )
        except SendRefused as exc:
            raise CommandError(exc.message) from None

    def _campaign(self, value):
        try:
            return Campaign.objects.get(pk=uuid.UUID(value))
        except (ValueError, Campaign.DoesNotExist):
            raise CommandError(f"No campaign {value!r}.") from None
