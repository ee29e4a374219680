"""Messages received before `content` existed get theirs from the details their provider's parser kept, and vCards
stored before their contacts were read get them from their files (messaging 0020)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from messaging.backends.twilio.parser import details
from messaging.backends.twilio.tests.payloads import ad_referral, button_reply, location, whatsapp_text

BEFORE = [("messaging", "0019_message_content")]
AFTER = [("messaging", "0020_message_content_fill")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    loader = MigrationExecutor(connection).loader
    return loader.project_state(list(loader.applied_migrations)).apps


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_old_messages_get_their_content_from_their_details_and_old_vcards_their_contacts():
    old = migrate(BEFORE)
    Lead, Message, Media = (
        old.get_model(*name.split(".")) for name in ("leads.Lead", "messaging.Message", "messaging.MessageMedia")
    )
    lead = Lead.objects.create(name="Elif", phone="+905551110001")

    def received(payload, provider="twilio", **fields):
        return Message.objects.create(
            lead=lead,
            is_from_lead=True,
            status="received",
            provider=provider,
            body=payload.get("Body", ""),
            metadata=details(payload),
            **fields,
        )

    button = received(button_reply(text="Evet", payload="YES"))
    place = received(location(latitude="41.0438", longitude="29.0094", address="Beşiktaş", label="Salon"))
    ad = received(ad_referral(Headline="Paket", SourceUrl="https://fb.me/x"))
    reply = received(whatsapp_text(body="Bu mu?", OriginalRepliedMessageSid="SM" + "a" * 32))
    plain = received(whatsapp_text(body="Merhaba"))
    unknown = received(button_reply(text="Evet"), provider="gone")  # a provider no longer configured: left alone
    kept = received(button_reply(text="Evet"), content={"choice": {"kind": "button", "title": "Önceden"}})
    card_message = received(whatsapp_text(body=""))
    card_file = default_storage.save(
        "messages/old.vcf", ContentFile(b"BEGIN:VCARD\nFN:Mert\nTEL:+905551110002\nEND:VCARD\n")
    )
    card = Media.objects.create(
        message=card_message, position=0, content_type="text/vcard", status="stored", file=card_file
    )
    missing = Media.objects.create(
        message=plain, position=0, content_type="text/vcard", status="stored", file="messages/gone.vcf"
    )

    new = migrate(AFTER)
    Message, Media = new.get_model("messaging", "Message"), new.get_model("messaging", "MessageMedia")
    content = dict(Message.objects.values_list("pk", "content"))
    assert content[button.pk] == {"choice": {"kind": "button", "title": "Evet", "id": "YES"}}
    assert content[place.pk] == {
        "location": {"latitude": 41.0438, "longitude": 29.0094, "label": "Salon", "address": "Beşiktaş"}
    }
    assert (
        content[ad.pk]["referral"]["headline"] == "Paket"
        and content[ad.pk]["referral"]["source_url"] == "https://fb.me/x"
    )
    assert content[reply.pk] == {"quoted_sid": "SM" + "a" * 32}
    assert content[plain.pk] == content[unknown.pk] == content[card_message.pk] == {}
    assert content[kept.pk] == {"choice": {"kind": "button", "title": "Önceden"}}
    assert Media.objects.get(pk=card.pk).contacts == [{"name": "Mert", "phones": ["+905551110002"]}]
    assert Media.objects.get(pk=missing.pk).contacts == []
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
