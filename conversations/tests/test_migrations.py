"""Leads that had messages before conversations existed get their current one (conversations 0002)."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("conversations", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    loader = MigrationExecutor(connection).loader
    return loader.project_state(list(loader.applied_migrations)).apps


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_lead_with_messages_gets_an_open_conversation_from_its_first_message(django_user_model):
    old = migrate(BEFORE)
    Lead, Message = old.get_model("leads", "Lead"), old.get_model("messaging", "Message")
    agent = old.get_model("auth", "User").objects.create(username="deniz")
    start = timezone.now() - datetime.timedelta(days=3)
    talked = Lead.objects.create(name="Ayşe", phone="+905551234567", last_message_at=start)
    waiting = Lead.objects.create(name="Mehmet", phone="+905551234568", last_message_at=start)
    Lead.objects.create(name="Sessiz", phone="+905551234569")  # never written to: no conversation
    Message.objects.create(lead=talked, body="Merhaba", is_from_lead=True, created_at=start)
    Message.objects.create(lead=talked, body="Otomatik", created_at=start + datetime.timedelta(minutes=1))
    Message.objects.create(
        lead=talked, body="Hoş geldiniz", sent_by=agent, created_at=start + datetime.timedelta(hours=1)
    )
    Message.objects.create(
        lead=waiting, body="Fiyat?", is_from_lead=True, created_at=start + datetime.timedelta(hours=2)
    )

    new = migrate([("conversations", "0002_current_conversations")])
    rows = {
        row.lead_id: (row.status, row.assignee_id, row.opened_at, row.first_response_at)
        for row in new.get_model("conversations", "Conversation").objects.all()
    }
    assert rows == {
        talked.pk: ("open", None, start, start + datetime.timedelta(hours=1)),
        waiting.pk: ("open", None, start + datetime.timedelta(hours=2), None),
    }
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
