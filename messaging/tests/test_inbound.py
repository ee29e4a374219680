import datetime

import pytest
from django.utils import timezone, translation

from leads.models import Lead, Stage
from leads.tests.factories import LeadFactory, StageFactory
from messaging.backends.twilio.parser import channel_for_sender
from messaging.backends.twilio.tests.payloads import (
    ad_referral,
    button_reply,
    list_reply,
    location,
    new_sid,
    sms,
    whatsapp_text,
)
from messaging.models import Channel, Message, MessageStatus, WebhookEvent
from notifications.models import Event

pytestmark = pytest.mark.django_db


def test_whatsapp_text_from_a_known_lead(post_webhook):
    lead = LeadFactory(phone="+905551234567", name="Ayşe Yılmaz")
    sid = new_sid()
    post_webhook(whatsapp_text(sid=sid, body="Menüde vejetaryen seçenek var mı?"))

    message = Message.objects.get()
    assert message.lead == lead
    assert message.body == "Menüde vejetaryen seçenek var mı?"
    assert message.channel == Channel.WHATSAPP
    assert message.is_from_lead and not message.is_read
    assert message.status == MessageStatus.RECEIVED
    assert message.twilio_message_sid == sid
    assert message.metadata["ProfileName"] == "Ayşe"
    assert message.metadata["WaId"] == "905551234567"
    lead.refresh_from_db()
    assert lead.unread_count == 1
    assert lead.last_inbound_at == lead.last_message_at == message.created_at
    assert Lead.objects.count() == 1
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.STORED


def test_sms_from_a_known_lead(post_webhook):
    lead = LeadFactory(phone="+905321112233")
    post_webhook(sms(sender="+905321112233", body="Fiyat listesi alabilir miyim?"))
    message = Message.objects.get()
    assert (message.lead, message.channel) == (lead, Channel.SMS)
    assert message.metadata["FromCity"] == "ISTANBUL"


@pytest.mark.parametrize(
    ("sender", "service_sid", "channel"),
    [
        ("whatsapp:+905551234567", "", "whatsapp"),
        ("WhatsApp:+905551234567", "", "whatsapp"),
        ("whatsapp:+905551234567", "whatsapp-happy-crm", "whatsapp"),
        ("+905551234567", "whatsapp-happy-crm", "sms"),
        ("+905551234567", "", "sms"),
    ],
)
def test_channel_comes_from_the_sender_never_the_service(post_webhook, sender, service_sid, channel):
    assert channel_for_sender(sender) == channel
    payload = whatsapp_text(From=sender, MessagingServiceSid=service_sid)
    post_webhook(payload)
    assert Message.objects.get().channel == channel


def test_unknown_number_creates_an_unregistered_lead_named_by_its_profile(post_webhook):
    other = StageFactory(is_default=True)
    post_webhook(whatsapp_text(sender="+905334445566", profile_name="Deniz Aksoy"))
    lead = Lead.objects.get()
    assert lead.name == "Deniz Aksoy"
    assert lead.phone == "+905334445566"
    assert lead.stage == other == Stage.objects.get(is_default=True)
    assert lead.is_unregistered and not lead.first_message_answered
    assert lead.unread_count == 1


@pytest.mark.parametrize(("language", "name"), [("en", "New lead"), ("tr", "Yeni lead")])
def test_unknown_number_without_profile_is_a_new_lead_in_the_sites_language(post_webhook, settings, language, name):
    """The configured LANGUAGE_CODE names it, whatever the request's language; the phone, shown beside the
    name, is not repeated in it."""
    settings.LANGUAGE_CODE = language
    with translation.override("tr" if language == "en" else "en"):
        post_webhook(sms(sender="+905334445566"))
    lead = Lead.objects.get()
    assert lead.name == name
    assert lead.phone == "+905334445566"


def test_last_ten_digits_fallback_matches_a_lead_stored_under_another_country(post_webhook):
    lead = LeadFactory(phone="+15551234567")
    post_webhook(whatsapp_text(sender="+905551234567"))
    assert Message.objects.get().lead == lead
    assert Lead.objects.count() == 1


def test_ambiguous_fallback_takes_the_most_recently_active_and_says_so(post_webhook):
    now = timezone.now()
    LeadFactory(phone="+15551234567", last_message_at=now - datetime.timedelta(days=3))
    recent = LeadFactory(phone="+445551234567", last_message_at=now - datetime.timedelta(hours=1))
    LeadFactory(phone="+495551234567", last_message_at=None)
    post_webhook(whatsapp_text(sender="+905551234567"))
    assert Message.objects.get().lead == recent
    event = WebhookEvent.objects.get()
    assert "3 leads share the last 10 digits" in event.notes


def test_same_message_delivered_again_is_stored_once(post_webhook):
    payload = whatsapp_text()
    for _ in range(3):
        assert post_webhook(payload).status_code == 200
    assert Message.objects.count() == 1
    assert Lead.objects.get().unread_count == 1
    outcomes = list(WebhookEvent.objects.order_by("received_at").values_list("outcome", flat=True))
    assert outcomes == ["stored", "duplicate", "duplicate"]
    assert Event.objects.filter(type=Event.Type.NEW_MESSAGE).count() == 1


def test_button_reply_and_location_are_kept(post_webhook):
    post_webhook(button_reply(text="Evet, katılıyorum", payload="CONFIRM_YES"))
    post_webhook(
        whatsapp_text(
            body="", MessageType="location", Latitude="41.0438", Longitude="29.0094", Address="Beşiktaş", Label="Mekan"
        )
    )
    post_webhook(
        whatsapp_text(body="Bu mu?", OriginalRepliedMessageSid="SM" + "a" * 32, ReferralSourceUrl="https://fb.me/x")
    )
    button, location, reply = Message.objects.order_by("created_at")
    assert button.metadata["ButtonPayload"] == "CONFIRM_YES"
    assert button.body == "Evet, katılıyorum"
    assert location.metadata["Latitude"] == "41.0438"
    assert location.metadata["Address"] == "Beşiktaş"
    assert reply.metadata["OriginalRepliedMessageSid"] == "SM" + "a" * 32
    assert reply.metadata["ReferralSourceUrl"] == "https://fb.me/x"
    assert "AccountSid" not in reply.metadata


def test_what_a_message_carries_is_kept_in_our_terms(post_webhook):
    """The thread and the API read `content`, never the provider's names (kept in `metadata` as evidence)."""
    quoted_sid = new_sid()
    post_webhook(button_reply(text="Evet, katılıyorum", payload="CONFIRM_YES"))
    post_webhook(list_reply(title="Cumartesi 19:00", item_id="slot-sat-19"))
    post_webhook(location(latitude="41.0438", longitude="29.0094", address="Beşiktaş", label="Mekan"))
    post_webhook(whatsapp_text(body="Bu mu?", OriginalRepliedMessageSid=quoted_sid))
    post_webhook(ad_referral(Headline="Düğün paketi", SourceUrl="https://fb.me/x"))
    post_webhook(location(latitude="999", longitude="abc", label="Ev"))
    post_webhook(whatsapp_text(body="Merhaba"))
    button, listed, place, reply, ad, nowhere, plain = Message.objects.order_by("created_at")
    assert button.content == {"choice": {"kind": "button", "title": "Evet, katılıyorum", "id": "CONFIRM_YES"}}
    assert listed.content == {"choice": {"kind": "list", "title": "Cumartesi 19:00", "id": "slot-sat-19"}}
    assert place.content == {
        "location": {"latitude": 41.0438, "longitude": 29.0094, "label": "Mekan", "address": "Beşiktaş"}
    }
    assert reply.content == {"quoted_sid": quoted_sid}
    assert ad.content == {
        "referral": {
            "headline": "Düğün paketi",
            "body": "Haziran düğünlerine özel fiyatlar",
            "source_url": "https://fb.me/x",
            "source_type": "ad",
            "source_id": "120210000000000001",
        }
    }
    assert nowhere.content == {"location": {"label": "Ev", "address": "Beşiktaş, İstanbul"}}  # not a place on Earth
    assert plain.content == {}
    assert listed.metadata["ListId"] == "slot-sat-19"  # the provider's own words stay as evidence


@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe ", "CANCEL", "end", "QUIT", "STOPALL"])
def test_opt_out_keywords_mark_the_lead(post_webhook, word):
    lead = LeadFactory(phone="+905551234567")
    post_webhook(whatsapp_text(body=word))
    lead.refresh_from_db()
    assert lead.opted_out_at is not None


@pytest.mark.parametrize(
    ("payload", "word"),
    [(whatsapp_text(body="İPTAL"), "İPTAL"), (whatsapp_text(body="ıptal"), "ıptal"), (sms(body="Ret."), "Ret")],
)
def test_the_turkish_opt_out_words_opt_the_lead_out_with_the_reason_kept(post_webhook, payload, word):
    lead = LeadFactory(phone="+905551234567")
    post_webhook(payload)
    lead.refresh_from_db()
    assert lead.opted_out_at is not None
    message = Message.objects.get()
    assert (message.opt_change, message.content) == ("out", {"consent": {"by": "word", "word": word}})


def test_a_sentence_with_an_opt_out_word_is_an_ordinary_message(post_webhook):
    lead = LeadFactory(phone="+905551234567")
    post_webhook(whatsapp_text(body="İptal etmek istiyorum rezervasyonu"))
    lead.refresh_from_db()
    assert lead.opted_out_at is None
    assert (Message.objects.get().opt_change, Message.objects.get().content) == ("", {})


def test_basla_opts_in_again_and_the_providers_keyword_is_recorded_as_the_providers(post_webhook):
    lead = LeadFactory(phone="+905551234567")
    post_webhook(whatsapp_text(body="STOP"))
    lead.refresh_from_db()
    assert lead.opted_out_at is not None
    post_webhook(whatsapp_text(body="Başla"))
    lead.refresh_from_db()
    assert lead.opted_out_at is None
    stop, start = Message.objects.order_by("created_at")
    assert (stop.opt_change, stop.content) == ("out", {"consent": {"by": "provider", "word": "STOP"}})
    assert (start.opt_change, start.content) == ("in", {"consent": {"by": "word", "word": "Başla"}})


def test_each_channel_takes_its_own_words(post_webhook, settings):
    settings.OPT_OUT_WORDS = {"whatsapp": ["RET"], "sms": ["DUR"]}
    whatsapp_lead, sms_lead = LeadFactory(phone="+905551234567"), LeadFactory(phone="+905321112233")
    post_webhook(whatsapp_text(body="dur"))
    post_webhook(sms(sender="+905321112233", body="dur"))
    whatsapp_lead.refresh_from_db()
    sms_lead.refresh_from_db()
    assert whatsapp_lead.opted_out_at is None and sms_lead.opted_out_at is not None


def test_start_clears_the_opt_out_and_ordinary_text_does_not(post_webhook):
    lead = LeadFactory(phone="+905551234567", opted_out_at=timezone.now())
    post_webhook(whatsapp_text(body="Please stop calling me at night"))
    lead.refresh_from_db()
    assert lead.opted_out_at is not None
    post_webhook(whatsapp_text(body="START"))
    lead.refresh_from_db()
    assert lead.opted_out_at is None


def test_new_message_event_is_recorded_for_the_agents(post_webhook):
    post_webhook(whatsapp_text(body="Merhaba", profile_name="Deniz"))
    message = Message.objects.get()
    assert message.is_notification_sent
    event = Event.objects.get(type=Event.Type.NEW_MESSAGE)
    assert event.message == message
    assert event.payload["body"] == "Merhaba"
    assert event.payload["lead_name"] == "Deniz"
    assert event.payload["from"] == "+905551234567"


def test_sender_that_is_not_a_phone_number_is_rejected_not_lost(post_webhook):
    response = post_webhook(sms(sender="HappyCRM"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.REJECTED
    assert "not a phone number" in event.last_error
    assert event.payload["From"] == "HappyCRM"
    assert not Message.objects.exists()


def test_messages_processed_late_keep_their_arrival_order(post_webhook):
    lead = LeadFactory(phone="+905551234567")
    post_webhook(whatsapp_text(body="ikinci"))
    later = Message.objects.get()
    early = WebhookEvent.objects.create(
        provider="twilio",
        kind=WebhookEvent.Kind.INBOUND,
        payload=whatsapp_text(body="birinci"),
        message_sid=new_sid(),
        received_at=later.created_at - datetime.timedelta(minutes=5),
    )
    early.payload["MessageSid"] = early.message_sid
    early.save()
    from messaging.services.webhooks import webhook_event_process

    webhook_event_process(event_id=early.pk)
    lead.refresh_from_db()
    assert lead.last_inbound_at == later.created_at
    assert list(Message.objects.order_by("created_at").values_list("body", flat=True)) == ["birinci", "ikinci"]


def test_without_a_default_stage_the_event_waits_with_a_clear_error(post_webhook):
    Stage.objects.update(is_default=False)
    post_webhook(whatsapp_text(sender="+905334445566"))
    event = WebhookEvent.objects.get()
    assert event.processed_at is None
    assert "make a stage the default" in event.last_error
    assert not Lead.objects.exists()


def test_a_value_the_database_refuses_rejects_the_event_at_once(post_webhook, monkeypatch):
    from django.db import DataError

    from messaging.services import webhooks

    def refuse(**kwargs):
        raise DataError("value too long for type character varying(128)")

    monkeypatch.setattr(webhooks, "inbound_message_receive", refuse)
    assert post_webhook(whatsapp_text()).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.REJECTED
    assert event.attempts == 1
    assert event.processed_at is not None
    assert event.last_error == "The database refused a value: value too long for type character varying(128)"
