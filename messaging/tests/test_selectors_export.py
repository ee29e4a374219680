import pytest
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.models import MessageMedia
from messaging.selectors import lead_conversation_chunks
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_chunks_hold_every_message_once_oldest_first_even_at_the_same_moment(django_assert_num_queries):
    lead = LeadFactory()
    moment = timezone.now()
    same = MessageFactory.create_batch(5, lead=lead, created_at=moment)
    later = MessageFactory(lead=lead, created_at=moment + timezone.timedelta(seconds=1))
    earlier = MessageFactory(lead=lead, created_at=moment - timezone.timedelta(seconds=1))
    MessageFactory()  # another lead's
    MessageMedia.objects.create(message=same[2], position=1, status=MessageMedia.Status.PENDING)
    MessageMedia.objects.create(message=same[2], position=0, status=MessageMedia.Status.PENDING)

    with django_assert_num_queries(7):  # three chunks of messages and their media, and the empty end
        chunks = list(lead_conversation_chunks(lead_id=lead.pk, size=3))
    assert [len(chunk) for chunk in chunks] == [3, 3, 1]
    flat = [message for chunk in chunks for message, _media in chunk]
    assert flat == [earlier, *sorted(same, key=lambda m: m.pk), later]
    media = {message.pk: [item.position for item in items] for chunk in chunks for message, items in chunk}
    assert media[same[2].pk] == [0, 1]
