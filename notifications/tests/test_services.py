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
