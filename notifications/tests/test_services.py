import datetime

import pytest
from django.utils import timezone

from messaging.tests.factories import MessageFactory
from notifications.models import Event
from notifications.services import event_new_message, events_prune

pytestmark = pytest.mark.django_db


def test_old_events_are_pruned_recent_ones_kept():
    message = MessageFactory(is_from_lead=True)
    old = event_new_message(message=message)
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=8))
    recent = event_new_message(message=message)
    assert events_prune() == 1
    assert list(Event.objects.all()) == [recent]


def test_reading_a_conversation_tells_every_screen():
    from messaging.models import Message
    from messaging.services.messages import lead_activity_refresh, messages_mark_read
    from messaging.tests.factories import InboundMessageFactory

    message = InboundMessageFactory()
    lead_activity_refresh(lead=message.lead)
    messages_mark_read(queryset=Message.objects.all())
    event = Event.objects.get(type=Event.Type.READ)
    assert event.payload == {"lead_id": str(message.lead_id)}
    messages_mark_read(queryset=Message.objects.all())  # nothing changed: no event
    assert Event.objects.filter(type=Event.Type.READ).count() == 1
