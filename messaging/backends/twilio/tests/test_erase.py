"""Deleting a message and its media at Twilio with the real twilio client, against the local fake Twilio."""

import pytest

from messaging.backends.base import ProviderDeletion
from messaging.backends.twilio import TwilioBackend
from messaging.models import ProviderLog
from messaging.services.webhooks import event_parties

from .payloads import ACCOUNT_SID, new_sid, status_callback, whatsapp_text

pytestmark = pytest.mark.django_db

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages"


def test_the_message_and_each_of_its_media_are_deleted(twilio):
    sid = new_sid()
    twilio.held[sid] = ["ME" + "1" * 32, "ME" + "2" * 32]
    result = TwilioBackend().message_delete(sid)
    assert result == ProviderDeletion(sid=sid, outcome="deleted", media_deleted=2)
    assert sid not in twilio.held
    assert [(r["method"], r["path"]) for r in twilio.requests] == [
        ("GET", f"{MESSAGES}/{sid}/Media.json"),
        ("DELETE", f"{MESSAGES}/{sid}/Media/ME{'1' * 32}.json"),
        ("DELETE", f"{MESSAGES}/{sid}/Media/ME{'2' * 32}.json"),
        ("DELETE", f"{MESSAGES}/{sid}.json"),
    ]
    assert all(r["auth"] for r in twilio.requests)
    assert set(ProviderLog.objects.values_list("kind", flat=True)) == {ProviderLog.Kind.ERASE}


def test_a_message_twilio_no_longer_has_is_absent_not_failed(twilio):
    result = TwilioBackend().message_delete("SM" + "9" * 32)
    assert result.outcome == "absent", result.error


def test_a_refusal_is_recorded_with_twilios_reason(twilio):
    sid = new_sid()
    twilio.held[sid] = []
    twilio.delete_replies.append(("error", 400, 20009, "Cannot delete message because it is still in progress"))
    result = TwilioBackend().message_delete(sid)
    assert result.outcome == "failed"
    assert "20009" in result.error and "still in progress" in result.error


def test_an_unreachable_twilio_is_a_failure_not_an_exception(twilio_settings):
    twilio_settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    result = TwilioBackend().message_delete(new_sid())
    assert result.outcome == "failed" and "ConnectionError" in result.error


def test_the_parties_of_an_event_are_read_in_e164():
    inbound = whatsapp_text(sender="+905551234567")
    assert event_parties(provider="twilio", payload=inbound) == ("+905551234567", "+14155238886")
    callback = status_callback(sid=new_sid(), status="delivered", to="+905551234567")
    assert event_parties(provider="twilio", payload=callback)[1] == "+905551234567"
    assert event_parties(provider="twilio", payload={"From": ["a", "b"], "To": "nonsense"}) == ("", "")
    assert event_parties(provider="nobody", payload=inbound) == ("", "")


def test_a_stored_webhook_keeps_its_parties(post_webhook):
    from messaging.models import WebhookEvent

    post_webhook(whatsapp_text(sender="+905551234567"))
    event = WebhookEvent.objects.get()
    assert (event.sender, event.recipient) == ("+905551234567", "+14155238886")
