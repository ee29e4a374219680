"""Who has a conversation and what state it is in: take, assign and unassign, resolve, snooze and wake up, the
round robin among available agents; every change announced to the screens."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.roles import AGENTS
from accounts.services import user_availability_set
from conversations.models import Conversation
from conversations.services import (
    ConversationRefused,
    conversation_reopen,
    conversation_take,
    conversations_assign,
    conversations_resolve,
    conversations_snooze,
    conversations_wake_due,
)
from leads.models import Lead
from messaging.backends.twilio.tests.payloads import whatsapp_text
from notifications.models import Event

from .factories import ConversationFactory

pytestmark = pytest.mark.django_db

Status = Conversation.Status


def announced() -> list[dict]:
    return [event.payload for event in Event.objects.filter(type=Event.Type.CONVERSATION_CHANGED).order_by("pk")]


@pytest.fixture
def agents(user_in_role):
    return user_in_role("ayse", AGENTS, first_name="Ayşe"), user_in_role("deniz", AGENTS, first_name="Deniz")


def test_taking_a_conversation_nobody_has_and_being_told_who_has_it(agents):
    ayse, deniz = agents
    conversation = ConversationFactory()
    conversation_take(conversation=conversation, agent=ayse)
    assert Conversation.objects.get().assignee == ayse
    assert announced() == [
        {
            "lead_id": str(conversation.lead_id),
            "conversation_id": str(conversation.pk),
            "status": "open",
            "assignee_id": ayse.pk,
            "assignee": "Ayşe",
            "snoozed_until": None,
        }
    ]
    stale = Conversation.objects.get()
    stale.assignee = None  # Deniz's page still shows it as nobody's
    with pytest.raises(ConversationRefused, match="Ayşe has this conversation already") as refused:
        conversation_take(conversation=stale, agent=deniz)
    assert refused.value.code == "taken"
    assert Conversation.objects.get().assignee == ayse
    conversation_take(conversation=Conversation.objects.get(), agent=ayse)  # taking one's own again is no change
    assert len(announced()) == 1


def test_assign_and_unassign_in_bulk_only_to_someone_who_can_read_conversations(agents, django_user_model):
    ayse, _ = agents
    first, second = ConversationFactory(), ConversationFactory()
    changed = conversations_assign(conversations=[first, second], assignee=ayse)
    assert len(changed) == 2 and set(Conversation.objects.values_list("assignee", flat=True)) == {ayse.pk}
    clerk = django_user_model.objects.create_user(username="clerk")
    with pytest.raises(ConversationRefused) as refused:
        conversations_assign(conversations=[first], assignee=clerk)
    assert refused.value.code == "assignee"
    conversations_assign(conversations=list(Conversation.objects.all()), assignee=None)
    assert set(Conversation.objects.values_list("assignee", flat=True)) == {None}
    assert [p["assignee_id"] for p in announced()] == [ayse.pk, ayse.pk, None, None]


def test_resolve_snooze_reopen_and_waking_up_on_time():
    conversation = ConversationFactory()
    with pytest.raises(ConversationRefused):
        conversations_snooze(conversations=[conversation], until=timezone.now() - datetime.timedelta(minutes=1))
    until = timezone.now() + datetime.timedelta(hours=3)
    conversations_snooze(conversations=[conversation], until=until)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until) == (Status.SNOOZED, until)
    assert conversations_wake_due() == 0  # not yet
    assert conversations_wake_due(now=until) == 1
    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until) == (Status.OPEN, None)
    conversations_resolve(conversations=[conversation])
    conversation.refresh_from_db()
    assert conversation.status == Status.RESOLVED and conversation.resolved_at is not None
    conversation_reopen(conversation=conversation)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.resolved_at) == (Status.OPEN, None)
    assert [p["status"] for p in announced()] == ["snoozed", "open", "resolved", "open"]


def test_a_resolved_conversation_is_not_reopened_over_a_newer_one():
    old = ConversationFactory(status=Status.RESOLVED, resolved_at=timezone.now())
    ConversationFactory(lead=old.lead)  # the lead wrote again: a new episode
    with pytest.raises(ConversationRefused) as refused:
        conversation_reopen(conversation=old)
    assert refused.value.code == "newer_conversation"
    old.refresh_from_db()
    assert old.status == Status.RESOLVED


def test_new_conversations_go_round_the_available_agents(agents, post_webhook, settings, user_in_role):
    settings.INBOX_AUTO_ASSIGN = True
    ayse, deniz = agents
    away = user_in_role("ece", AGENTS)  # not marked available: given none
    for agent in (ayse, deniz):
        user_availability_set(user=agent, available=True)
    user_availability_set(user=away, available=False)
    for n in range(5):
        post_webhook(whatsapp_text(sender=f"+90555000000{n}"))
    by_lead = dict(Conversation.objects.values_list("lead__phone", "assignee__username"))
    assert [by_lead[f"+90555000000{n}"] for n in range(5)] == ["ayse", "deniz", "ayse", "deniz", "ayse"]
    # The new-message notification is for the assignee.
    notified = {
        event.payload["lead_id"]: event.payload["assignee_id"] for event in Event.objects.filter(type="new_message")
    }
    assert notified[str(Lead.objects.get(phone="+905550000001").pk)] == deniz.pk


def test_without_the_round_robin_a_new_conversation_is_nobodys_and_notifies_everyone(agents, post_webhook):
    user_availability_set(user=agents[0], available=True)
    post_webhook(whatsapp_text(sender="+905550000009"))
    assert Conversation.objects.get().assignee is None
    assert Event.objects.get(type="new_message").payload["assignee_id"] is None
    assert not settings.INBOX_AUTO_ASSIGN


def test_a_message_to_an_assigned_conversation_notifies_its_assignee(agents, post_webhook):
    post_webhook(whatsapp_text(sender="+905550000009"))
    conversation_take(conversation=Conversation.objects.get(), agent=agents[1])
    post_webhook(whatsapp_text(sender="+905550000009", body="Bir şey daha"))
    assert [e.payload["assignee_id"] for e in Event.objects.filter(type="new_message").order_by("pk")] == [
        None,
        agents[1].pk,
    ]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_two_agents_taking_one_conversation_at_once_one_wins_the_other_is_told(django_user_model):
    from messaging.tests.test_concurrency import run_together

    ayse = django_user_model.objects.create_user(username="ayse", is_superuser=True)
    deniz = django_user_model.objects.create_user(username="deniz", is_superuser=True)
    conversation = ConversationFactory()

    def take(agent):
        try:
            conversation_take(conversation=Conversation.objects.get(pk=conversation.pk), agent=agent)
            return agent.username
        except ConversationRefused as refused:
            return refused.message

    outcomes = sorted(run_together(take, [ayse, deniz]))
    winner = Conversation.objects.get().assignee.username
    assert winner in outcomes
    assert f"{winner} has this conversation already." in outcomes
    assert len(announced()) == 1
