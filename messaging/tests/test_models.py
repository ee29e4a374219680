import pytest
from django.db import IntegrityError, connection, transaction
from twilio.rest.api.v2010.account.message import MessageInstance

from messaging.models import Channel, Message, MessageStatus
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_status_choices_cover_every_twilio_status():
    twilio_statuses = {value for name, value in vars(MessageInstance.Status).items() if name.isupper()}
    assert len(twilio_statuses) == 13
    assert twilio_statuses == set(MessageStatus.values)


def test_channel_is_enforced_by_the_database():
    message = MessageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(channel="telegram")
    assert set(Channel.values) == {"whatsapp", "sms"}


def test_status_is_enforced_by_the_database():
    message = MessageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(status="bogus")


def test_twilio_sid_is_unique_when_present():
    MessageFactory(twilio_message_sid="SM" + "a" * 32)
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageFactory(twilio_message_sid="SM" + "a" * 32)
    MessageFactory(twilio_message_sid=None)
    MessageFactory(twilio_message_sid=None)
    assert Message.objects.filter(twilio_message_sid__isnull=True).count() == 2


def test_thread_and_unread_indexes_exist():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Message._meta.db_table)
    assert {"message_thread_idx", "message_unread_idx"} <= set(constraints)


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the pattern indexes are PostgreSQL's")
@pytest.mark.parametrize("table", ["messaging_webhookevent", "messaging_message"])
def test_the_hot_tables_have_no_pattern_index(table):
    """Every stored event and message, every processed event and every status change writes each index (an update
    that changes an indexed column writes them all); a LIKE index nothing reads is pure cost."""
    assert not [name for name, definition in _indexes(table).items() if "pattern_ops" in definition]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's catalogue")
def test_webhook_events_and_messages_are_indexed_once_per_lookup():
    assert {"webhook_sid_idx", "webhook_sender_idx", "webhook_recipient_idx"} <= set(_indexes("messaging_webhookevent"))
    messages = _indexes("messaging_message")
    assert "message_sid_unique" in messages and "message_thread_idx" in messages
    assert not [name for name, definition in messages.items() if definition.endswith("(lead_id)")]


def test_a_provider_sid_belongs_to_one_message():
    MessageFactory(twilio_message_sid="SM-once")
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageFactory(twilio_message_sid="SM-once")
