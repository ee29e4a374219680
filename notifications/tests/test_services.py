import datetime

import pytest
from django.utils import timezone

from messaging.services.events import event_new_message
from messaging.tests.factories import MessageFactory
from notifications.models import Event
from notifications.selectors import CursorPruned, events_after, events_oldest_cursor
from notifications.services import events_prune

pytestmark = pytest.mark.django_db


def test_old_events_are_pruned_recent_ones_kept_and_the_mark_moves():
    message = MessageFactory(is_from_lead=True)
    old = [event_new_message(message=message) for _ in range(3)]
    Event.objects.filter(pk__in=[e.pk for e in old]).update(created_at=timezone.now() - datetime.timedelta(days=8))
    recent = event_new_message(message=message)
    assert events_oldest_cursor() == 0
    assert events_prune(older_than=datetime.timedelta(days=7), dry_run=True) == 3
    assert Event.objects.count() == 4 and events_oldest_cursor() == 0  # a dry run changes nothing
    assert events_prune(older_than=datetime.timedelta(days=7), batch_size=2) == 3
    assert list(Event.objects.all()) == [recent]
    assert events_oldest_cursor() == old[-1].pk
    with pytest.raises(CursorPruned) as pruned:
        events_after(cursor=old[0].pk)
    assert pruned.value.oldest_cursor == old[-1].pk
    assert events_after(cursor=old[-1].pk) == [recent]
    assert events_prune(older_than=datetime.timedelta(days=7)) == 0
    assert events_oldest_cursor() == old[-1].pk  # never moves back


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


def test_an_opt_out_change_tells_the_open_conversation_once():
    from leads.services import lead_set_opted_out
    from leads.tests.factories import LeadFactory

    lead = LeadFactory(name="Durdurdu")
    assert lead_set_opted_out(lead=lead, opted_out=True)
    assert not lead_set_opted_out(lead=lead, opted_out=True)  # already out: nothing changed, no event
    assert lead_set_opted_out(lead=lead, opted_out=False)
    events = Event.objects.filter(type=Event.Type.LEAD_CHANGED)
    assert [event.payload for event in events] == [{"lead_id": str(lead.pk), "lead_name": "Durdurdu"}] * 2


def test_our_sent_messages_are_events_for_every_screen(django_capture_on_commit_callbacks):
    from campaigns.services import campaign_create
    from leads.tests.factories import LeadFactory
    from messaging.services.messages import lead_activity_refresh
    from messaging.services.outbound import message_send
    from messaging.tests.factories import InboundMessageFactory
    from templates_app.tests.factories import TemplateFactory

    lead = LeadFactory()
    InboundMessageFactory(lead=lead, created_at=timezone.now() - datetime.timedelta(hours=1))
    lead_activity_refresh(lead=lead)
    reply = message_send(lead=lead, body="Cevap")
    event = Event.objects.get(type=Event.Type.MESSAGE_SENT)
    assert event.message == reply and event.payload == {
        "message_id": str(reply.pk),
        "lead_id": str(lead.pk),
        "channel": "whatsapp",
        "created_at": reply.created_at.isoformat(),
    }
    others = LeadFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_create(name="Toplu", template=TemplateFactory(content="Merhaba {{1}}"), leads=others)
    sent = Event.objects.filter(type=Event.Type.MESSAGE_SENT).exclude(pk=event.pk)
    assert sorted(str(e.lead_id) for e in sent) == sorted(str(other.pk) for other in others)


def test_a_screen_starting_after_everything_was_pruned_starts_after_the_pruned_events():
    from notifications.selectors import events_cursor

    message = MessageFactory(is_from_lead=True)
    last = [event_new_message(message=message) for _ in range(2)][-1]
    Event.objects.update(created_at=timezone.now() - datetime.timedelta(days=8))
    events_prune(older_than=datetime.timedelta(days=7))
    assert not Event.objects.exists()
    assert events_cursor() == last.pk
    assert events_after(cursor=events_cursor()) == []  # and resuming from there is not refused
