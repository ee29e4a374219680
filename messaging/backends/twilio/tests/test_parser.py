"""Twilio's form read into our neutral objects, the one place its field names are read."""

import pytest

from messaging.backends.base import (
    AdReferral,
    Attachment,
    Button,
    InboundMessage,
    Location,
    PermanentWebhookError,
    RichContent,
    StatusUpdate,
)
from messaging.backends.twilio.backend import TwilioBackend
from messaging.backends.twilio.parser import kind_and_sid, parse
from messaging.backends.twilio.tests.payloads import (
    ad_referral,
    button_reply,
    list_reply,
    sms,
    status_callback,
    whatsapp_media,
    whatsapp_text,
)


def test_an_inbound_whatsapp_message_in_our_terms():
    payload = whatsapp_media(
        media_urls=["https://api.twilio.com/m/1", "https://api.twilio.com/m/2"],
        content_types=["image/jpeg", "application/pdf"],
        body="Salon fotoğrafları",
        OriginalRepliedMessageSid="SM" + "a" * 32,
        ReferralSourceUrl="https://fb.me/x",
        ReferralHeadline="Düğün paketi",
    )
    message = parse(payload)
    assert isinstance(message, InboundMessage)
    assert (message.sender, message.channel, message.body, message.profile_name) == (
        "+905551234567",
        "whatsapp",
        "Salon fotoğrafları",
        "Ayşe",
    )
    assert message.attachments == (
        Attachment("https://api.twilio.com/m/1", "image/jpeg"),
        Attachment("https://api.twilio.com/m/2", "application/pdf"),
    )
    assert message.replied_to_sid == "SM" + "a" * 32
    assert message.referral == AdReferral(headline="Düğün paketi", source_url="https://fb.me/x")
    assert message.details["ProfileName"] == "Ayşe" and "AccountSid" not in message.details
    assert message.opt_out is None
    assert kind_and_sid(payload) == ("inbound", message.sid)


def test_buttons_locations_and_keywords():
    assert parse(button_reply()).button == Button(text="Evet, katılıyorum", payload="CONFIRM_YES", kind="button")
    located = parse(whatsapp_text(body="", Latitude="41.0438", Longitude="29.0094", Address="Beşiktaş"))
    assert located.location == Location(latitude="41.0438", longitude="29.0094", address="Beşiktaş")
    assert parse(sms(body=" stop ")).opt_out is True
    assert parse(sms(body="START")).opt_out is False
    assert parse(sms()).channel == "sms"


def test_a_list_item_an_ad_and_a_plain_message_in_our_terms():
    assert parse(list_reply()).button == Button(text="Cumartesi 19:00", payload="slot-sat-19", kind="list")
    assert parse(ad_referral()).referral == AdReferral(
        headline="Düğün paketi %20 indirimli",
        body="Haziran düğünlerine özel fiyatlar",
        source_url="https://fb.me/3bXyZ",
        source_type="ad",
        source_id="120210000000000001",
    )
    plain = parse(whatsapp_text())  # ReferralNumMedia=0 comes with every WhatsApp message: no ad
    assert (plain.referral, plain.button, plain.location, plain.replied_to_sid) == (None, None, None, "")


def test_an_over_long_quoted_sid_is_no_quote_and_never_rejects_the_message():
    assert parse(whatsapp_text(OriginalRepliedMessageSid="SM" + "a" * 200)).replied_to_sid == ""


def test_the_details_kept_read_back_as_the_message_was_read():
    """Messages stored before their content was kept get it from their details (migration 0020)."""
    for payload in (button_reply(), list_reply(), ad_referral(), whatsapp_text(OriginalRepliedMessageSid="SM1")):
        message = parse(payload)
        assert TwilioBackend().details_content(message.details) == message.rich
    assert TwilioBackend().details_content({"ButtonText": ["a", "b"]}) == RichContent()  # unreadable: nothing


def test_a_status_callback_in_our_terms():
    update = parse(status_callback(sid="SM" + "b" * 32, status="undelivered", error_code=21610))
    assert update == StatusUpdate(
        sid="SM" + "b" * 32, status="undelivered", error_code=21610, error_message="", recipient_opted_out=True
    )
    assert parse(status_callback(sid="SM" + "c" * 32, status="read")).status == "read"
    assert kind_and_sid(status_callback(sid="SM" + "c" * 32, status="read")) == ("status", "SM" + "c" * 32)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"From": "whatsapp:+905551234567", "Body": "x"}, "no MessageSid"),
        ({"MessageSid": ["SM1", "SM2"], "From": "+905551234567"}, "repeated"),
        ({"MessageSid": "SM" + "1" * 70, "From": "+905551234567"}, "characters long"),
    ],
)
def test_what_cannot_be_read_is_a_permanent_error(payload, reason):
    with pytest.raises(PermanentWebhookError, match=reason):
        parse(payload)
    assert kind_and_sid(payload)[1] == ""
