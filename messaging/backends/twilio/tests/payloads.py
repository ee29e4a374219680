"""Realistic Twilio webhook payloads, signed the way Twilio signs them."""

import uuid

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
OUR_WHATSAPP = "whatsapp:+14155238886"
OUR_NUMBER = "+14155552671"
WEBHOOK_PATH = "/api/twilio/webhook"


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped SID no other test's row has (the factories number theirs from 1: a counter here collided)."""
    return f"{prefix}{uuid.uuid4().hex}"


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def whatsapp_text(*, sid=None, sender="+905551234567", body="Merhaba", profile_name="Ayşe", **extra) -> dict:
    payload = {
        "SmsMessageSid": sid or new_sid(),
        "NumMedia": "0",
        "ProfileName": profile_name,
        "MessageType": "text",
        "SmsSid": None,
        "WaId": sender.lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": OUR_WHATSAPP,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": None,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{sender}",
        "ApiVersion": "2010-04-01",
    }
    payload["SmsSid"] = payload["MessageSid"] = payload["SmsMessageSid"]
    payload.update(extra)
    return {key: value for key, value in payload.items() if value is not None}


def whatsapp_media(*, media_urls, content_types=None, body="", **kwargs) -> dict:
    content_types = content_types or ["image/jpeg"] * len(media_urls)
    extra = {"NumMedia": str(len(media_urls)), "MessageType": "image"}
    for index, (url, content_type) in enumerate(zip(media_urls, content_types, strict=True)):
        extra[f"MediaUrl{index}"] = url
        extra[f"MediaContentType{index}"] = content_type
    return whatsapp_text(body=body, **{**extra, **kwargs})


def button_reply(*, text="Evet, katılıyorum", payload="CONFIRM_YES", **kwargs) -> dict:
    return whatsapp_text(body=text, ButtonText=text, ButtonPayload=payload, MessageType="button", **kwargs)


def list_reply(*, title="Cumartesi 19:00", item_id="slot-sat-19", **kwargs) -> dict:
    """A WhatsApp list-picker item chosen (twilio/list-picker): its title as the Body, its id as ListId."""
    return whatsapp_text(body=title, ListId=item_id, ListTitle=title, MessageType="interactive", **kwargs)


def location(*, latitude="41.0438", longitude="29.0094", address="Beşiktaş, İstanbul", label="Düğün Salonu", **kwargs):
    return whatsapp_text(
        body="", MessageType="location", Latitude=latitude, Longitude=longitude, Address=address, Label=label, **kwargs
    )


def ad_referral(*, body="Merhaba, bu ilan hakkında bilgi alabilir miyim?", **fields) -> dict:
    """A click-to-WhatsApp ad's first message; `fields` are Referral* values by their suffix (Headline=…)."""
    referral = {
        "ReferralSourceId": "120210000000000001",
        "ReferralSourceType": "ad",
        "ReferralSourceUrl": "https://fb.me/3bXyZ",
        "ReferralHeadline": "Düğün paketi %20 indirimli",
        "ReferralBody": "Haziran düğünlerine özel fiyatlar",
        "ReferralCtwaClid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0",
    }
    referral.update({f"Referral{key}": value for key, value in fields.items()})
    return whatsapp_text(body=body, **referral)


def sms(*, sid=None, sender="+905551234567", body="Merhaba", **extra) -> dict:
    sid = sid or new_sid()
    payload = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "ISTANBUL",
        "Body": body,
        "FromCountry": "TR",
        "To": OUR_NUMBER,
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    payload.update(extra)
    return payload


def status_callback(*, sid, status, error_code=None, channel="whatsapp", to="+905551234567", **extra) -> dict:
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    payload = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": OUR_WHATSAPP if channel == "whatsapp" else OUR_NUMBER,
        "To": f"{prefix}{to}",
        "ApiVersion": "2010-04-01",
    }
    if channel == "whatsapp":
        payload.update({"ChannelPrefix": "whatsapp", "ChannelInstallSid": "XE" + "2" * 32, "ChannelToAddress": to})
        if status == "read":
            payload["EventType"] = "READ"
    if error_code is not None:
        payload["ErrorCode"] = str(error_code)
    payload.update(extra)
    return payload
