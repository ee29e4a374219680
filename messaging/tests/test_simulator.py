import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead
from messaging.backends.base import OutgoingMessage
from messaging.backends.simulator import SimulatorBackend, progress_plan
from messaging.models import Message, MessageStatus, WebhookEvent
from messaging.services.status import message_sid_assign
from messaging.tasks import simulate_status_callback
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_simulate_inbound_goes_through_the_webhook_path(capsys):
    call_command("simulate_inbound", "Merhaba, fiyat alabilir miyim?", "--from", "0555 123 45 67", "--name", "Ayşe")
    message = Message.objects.get()
    assert message.body == "Merhaba, fiyat alabilir miyim?"
    assert message.channel == "whatsapp" and message.is_from_lead
    assert message.lead.phone == "+905551234567" and message.lead.name == "Ayşe"
    assert WebhookEvent.objects.get().outcome == "stored"
    assert "Stored" in capsys.readouterr().out


def test_simulate_inbound_sms_and_bad_sender(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("simulate_inbound", "SMS geldi", "--from", "+905321112233", "--sms")
    assert Message.objects.get().channel == "sms"
    with pytest.raises(CommandError, match="--from: Enter a valid phone number"):
        call_command("simulate_inbound", "x", "--from", "not-a-phone")
    assert Lead.objects.count() == 1


def test_progress_is_realistic_and_repeatable():
    plans = [progress_plan(f"SM{n:032x}", "whatsapp") for n in range(200)]
    happy = [p for p in plans if [s for _, s, _ in p] == ["sent", "delivered", "read"]]
    failed = [p for p in plans if p[-1][1] in ("failed", "undelivered")]
    assert len(happy) + len(failed) == 200
    assert 5 <= len(failed) <= 40
    assert all(code in (30003, 30005, 30006, 30008) for *_, code in (p[-1] for p in failed))
    assert progress_plan("SM" + "a" * 32, "sms") == progress_plan("SM" + "a" * 32, "sms")
    assert all(delays == sorted(delays) for delays in ([d for d, _, _ in p] for p in plans))


def test_simulated_callbacks_use_the_real_status_path(django_capture_on_commit_callbacks):
    message = MessageFactory(status=MessageStatus.QUEUED, twilio_message_sid=None)
    message = message_sid_assign(message=message, sid="SM" + "b" * 32)
    with django_capture_on_commit_callbacks(execute=True):
        for status in ("sent", "delivered", "read"):
            simulate_status_callback(sid=message.twilio_message_sid, status=status, error_code=None)
    message.refresh_from_db()
    assert message.status == "read"
    assert WebhookEvent.objects.filter(kind="status", outcome="status_applied").count() == 3


def test_simulator_send_gives_a_twilio_shaped_sid(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    result = SimulatorBackend().send(OutgoingMessage(to="+905551234567", channel="whatsapp", body="Merhaba"))
    assert result.sid.startswith("SM") and len(result.sid) == 34
    assert result.status == "queued"
