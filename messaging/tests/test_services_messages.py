import datetime

import pytest
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.models import Message
from messaging.services.messages import lead_activity_refresh, messages_mark_read, messages_set_starred
from messaging.tests.factories import InboundMessageFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_activity_refresh_derives_lead_columns_from_messages():
    lead = LeadFactory()
    now = timezone.now()
    InboundMessageFactory(lead=lead, created_at=now - datetime.timedelta(hours=3))
    InboundMessageFactory(lead=lead, created_at=now - datetime.timedelta(hours=2), is_read=True)
    MessageFactory(lead=lead, created_at=now - datetime.timedelta(hours=1))

    lead_activity_refresh(lead=lead)
    lead.refresh_from_db()

    assert lead.unread_count == 1
    assert lead.last_inbound_at == now - datetime.timedelta(hours=2)
    assert lead.last_message_at == now - datetime.timedelta(hours=1)


def test_mark_read_keeps_unread_counts_consistent():
    lead, other = LeadFactory(), LeadFactory()
    first, second = InboundMessageFactory.create_batch(2, lead=lead)
    InboundMessageFactory(lead=other)
    outbound = MessageFactory(lead=lead)
    for each in (lead, other):
        lead_activity_refresh(lead=each)

    assert messages_mark_read(queryset=Message.objects.filter(pk__in=[first.pk, outbound.pk])) == 2
    lead.refresh_from_db()
    assert lead.unread_count == 1
    first.refresh_from_db()
    assert first.is_read and first.read_at is not None

    # Marking again changes nothing and never decrements twice.
    assert messages_mark_read(queryset=Message.objects.filter(lead=lead)) == 1
    assert messages_mark_read(queryset=Message.objects.filter(lead=lead)) == 0
    lead.refresh_from_db()
    other.refresh_from_db()
    assert lead.unread_count == 0
    assert other.unread_count == 1
    second.refresh_from_db()
    assert second.is_read


def test_star_and_unstar():
    message = MessageFactory()
    assert messages_set_starred(queryset=Message.objects.all(), starred=True) == 1
    message.refresh_from_db()
    assert message.is_starred and message.starred_at is not None
    assert messages_set_starred(queryset=Message.objects.all(), starred=True) == 0
    messages_set_starred(queryset=Message.objects.all(), starred=False)
    message.refresh_from_db()
    assert not message.is_starred and message.starred_at is None
