import factory

from leads.tests.factories import LeadFactory
from messaging.models import Channel, Message, MessageStatus, WebhookEvent


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    lead = factory.SubFactory(LeadFactory)
    body = factory.Faker("sentence", locale="tr_TR")
    channel = Channel.WHATSAPP
    status = MessageStatus.SENT
    twilio_message_sid = factory.Sequence(lambda n: f"SM{n:032x}")


class InboundMessageFactory(MessageFactory):
    is_from_lead = True
    status = MessageStatus.RECEIVED


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    provider = "twilio"
    message_sid = factory.Sequence(lambda n: f"SM{n:032x}")
    payload = factory.LazyAttribute(lambda o: {"MessageSid": o.message_sid, "From": "whatsapp:+905551234567"})
    signature_valid = True
