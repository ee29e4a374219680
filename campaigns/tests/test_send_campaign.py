import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


def test_command(outbox, run, stage_with_leads, capsys):
    stage, _ = stage_with_leads
    template = TemplateFactory(name="kis_kampanyasi", content="Merhaba {{1}}")
    with run():
        call_command("send_campaign", "--template", "kis_kampanyasi", "--stage", stage.name)
    assert len(outbox) == 3
    assert f"Campaign {Campaign.objects.get().pk}" in capsys.readouterr().out
    campaign = Campaign.objects.get()
    with run():
        call_command("send_campaign", "--campaign", str(campaign.pk))
    assert len(outbox) == 3
    for args, error in [
        (["--template", "nope", "--stage", stage.name], "No template 'nope'"),
        (["--template", template.name, "--stage", "nope"], "No stage 'nope'"),
        (["--template", template.name], "Give --template and --stage"),
        (["--campaign", "123"], "No campaign '123'"),
        (["--template", template.name, "--stage", stage.name, "--start-at", "yarın"], "--start-at"),
    ]:
        with pytest.raises(CommandError, match=error):
            call_command("send_campaign", *args)
