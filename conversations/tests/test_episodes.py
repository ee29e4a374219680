"""A conversation is one episode with a lead: the lead's messages open it (or open it again), an agent's first
answer is recorded, resolving ends it, and the database keeps at most one current per lead."""

import datetime

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations.models import Conversation
from conversations.services import conversations_resolve
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import whatsapp_text
from messaging.services.outbound import message_send
from messaging.tests.factories import InboundMessageFactory

from .factories import ConversationFactory

pytestmark = pytest.mark.django_db

Status = Conversation.Status


def episodes(lead) -> list[tuple[str, bool]]:
    """The lead's conversations, oldest first: (status, answered)."""
    rows = Conversation.objects.filter(lead=lead).order_by("opened_at")
    return [(row.status, row.first_response_at is not None) for row in rows]


def test_a_new_senders_messages_open_one_conversation(post_webhook):
    post_webhook(whatsapp_text(sender="+905551112233", body="Merhaba"))
    post_webhook(whatsapp_text(sender="+905551112233", body="Fiyat alabilir miyim?"))
    lead = Lead.objects.get(phone="+905551112233")
    [conversation] = Conversation.objects.filter(lead=lead)
    assert (conversation.status, conversation.assignee, conversation.first_response_at) == (Status.OPEN, None, None)
    assert conversation.opened_at == lead.messages.order_by("created_at").first().created_at


def test_a_message_after_resolution_opens_the_next_episode(post_webhook, admin_user):
    post_webhook(whatsapp_text(sender="+905551112233"))
    lead = Lead.objects.get()
    message_send(lead=lead, body="Hoş geldiniz", sender=admin_user)
    conversations_resolve(conversations=[Conversation.objects.get(lead=lead)])
    assert episodes(lead) == [(Status.RESOLVED, True)]
    post_webhook(whatsapp_text(sender="+905551112233", body="Bir sorum daha var"))
    assert episodes(lead) == [(Status.RESOLVED, True), (Status.OPEN, False)]


def test_a_snoozed_conversation_wakes_up_when_the_lead_writes(post_webhook):
    lead = LeadFactory(phone="+905551112233")
    snoozed = ConversationFactory(
        lead=lead, status=Status.SNOOZED, snoozed_until=timezone.now() + datetime.timedelta(days=1)
    )
    post_webhook(whatsapp_text(sender="+905551112233"))
    snoozed.refresh_from_db()
    assert (snoozed.status, snoozed.snoozed_until) == (Status.OPEN, None)
    assert Conversation.objects.filter(lead=lead).count() == 1


def test_the_first_answer_is_recorded_once_and_only_an_agents(admin_user, django_user_model):
    lead = LeadFactory(last_inbound_at=timezone.now())
    InboundMessageFactory(lead=lead)
    conversation = ConversationFactory(lead=lead)
    message_send(lead=lead, body="Otomatik yanıt", sender=None)  # not an agent's: no answer yet
    conversation.refresh_from_db()
    assert conversation.first_response_at is None
    first = message_send(lead=lead, body="Merhaba, ben Deniz", sender=admin_user)
    message_send(lead=lead, body="Bir de şu", sender=django_user_model.objects.create_user(username="ece"))
    conversation.refresh_from_db()
    assert conversation.first_response_at == first.created_at


def test_an_agent_writing_to_a_lead_without_a_conversation_starts_one_of_their_own(admin_user):
    lead = LeadFactory(last_inbound_at=timezone.now())
    sent = message_send(lead=lead, body="Merhaba, teklifimizi gönderiyorum", sender=admin_user)
    [conversation] = Conversation.objects.filter(lead=lead)
    assert (conversation.status, conversation.assignee) == (Status.OPEN, admin_user)
    assert conversation.opened_at == conversation.first_response_at == sent.created_at


def test_the_database_keeps_one_current_conversation_per_lead():
    lead = LeadFactory()
    ConversationFactory(lead=lead)
    for status in (Status.OPEN, Status.SNOOZED):
        extra = {"snoozed_until": timezone.now()} if status == Status.SNOOZED else {}
        with pytest.raises(IntegrityError), transaction.atomic():
            ConversationFactory(lead=lead, status=status, **extra)
    ConversationFactory(lead=lead, status=Status.RESOLVED, resolved_at=timezone.now())  # history is unlimited


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Status.SNOOZED},  # snoozed until when?
        {"status": Status.OPEN, "snoozed_until": datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)},
        {"status": Status.RESOLVED},  # resolved when?
        {"status": Status.OPEN, "resolved_at": datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)},
    ],
)
def test_the_database_refuses_a_status_without_its_time(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        ConversationFactory(**fields)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_ten_first_messages_at_once_open_one_conversation():
    from messaging.services.webhooks import webhook_event_process
    from messaging.tests.test_concurrency import run_together, stored_event

    events = [stored_event(whatsapp_text(sender="+905334445566", body=f"mesaj {n}")) for n in range(10)]
    run_together(lambda event: webhook_event_process(event_id=event.pk), events)
    assert episodes(Lead.objects.get()) == [(Status.OPEN, False)]
