import pytest
from django.db import connection
from django.db.models import signals
from django.utils import timezone

from happycrm.db.insert import row_insert
from messaging.models import WebhookEvent

pytestmark = pytest.mark.django_db


def new_event(**fields) -> WebhookEvent:
    return WebhookEvent(provider="twilio", kind="inbound", payload={"Body": "Merhaba", "N": ["1", "2"]}, **fields)


def test_the_row_is_stored_as_save_stores_it(django_assert_num_queries):
    before = timezone.now()
    with django_assert_num_queries(1):
        event = row_insert(new_event(message_sid="SM1", signature_valid=True))
    assert not event._state.adding and event._state.db == "default"
    stored = WebhookEvent.objects.get()
    assert stored.pk == event.pk
    assert stored.payload == {"Body": "Merhaba", "N": ["1", "2"]} and stored.original_fields == {}
    assert (stored.message_sid, stored.signature_valid, stored.attempts, stored.outcome) == ("SM1", True, 0, "")
    assert before <= stored.received_at == event.received_at


def test_a_model_with_save_receivers_is_saved_the_usual_way():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    signals.post_save.connect(receiver, sender=WebhookEvent)
    try:
        event = row_insert(new_event())
    finally:
        signals.post_save.disconnect(receiver, sender=WebhookEvent)
    assert seen == [event.pk] and WebhookEvent.objects.filter(pk=event.pk).exists()


def test_unless_another_row_exists_is_checked_by_the_insert_itself(django_assert_num_queries):
    from messaging.models import ErasedMessage

    tombstone = (ErasedMessage, "sid_hash", ErasedMessage.hash_sid("SM-erased"))
    with django_assert_num_queries(1):
        assert row_insert(new_event(message_sid="SM-erased"), unless=tombstone) is not None
    ErasedMessage.objects.create(sid_hash=ErasedMessage.hash_sid("SM-erased"))
    with django_assert_num_queries(1):
        assert row_insert(new_event(message_sid="SM-erased"), unless=tombstone) is None
    assert WebhookEvent.objects.filter(message_sid="SM-erased").count() == 1  # only the one before the tombstone
    stored = WebhookEvent.objects.get()
    assert stored.payload == {"Body": "Merhaba", "N": ["1", "2"]} and stored.received_at is not None


def _prepared_inserts(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["INSERT INTO%"])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_insert_is_prepared_once_per_connection(django_assert_num_queries):
    from messaging.models import ErasedMessage

    tombstone = (ErasedMessage, "sid_hash", ErasedMessage.hash_sid("SM-new"))
    with django_assert_num_queries(2):  # still counted and logged as queries
        row_insert(new_event(message_sid="SM-a"), unless=tombstone)
        row_insert(new_event(message_sid="SM-b"), unless=tombstone)
    prepared = _prepared_inserts(connection)
    assert len(prepared) == 1 and "messaging_webhookevent" in prepared[0] and "NOT EXISTS" in prepared[0]
    assert set(WebhookEvent.objects.values_list("message_sid", flat=True)) == {"SM-a", "SM-b"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_connections_other_queries_stay_out_of_the_prepared_statement_cache():
    row_insert(new_event(message_sid="SM-a"))
    WebhookEvent.objects.filter(message_sid="SM-a").update(attempts=1)
    raw = connection.connection
    assert raw.prepare_threshold is None  # Django's default, put back after the insert
    assert len(raw._prepared._names) == 1 and not raw._prepared._counts  # only the insert, no other query's text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_with_prepared_statements_off_the_insert_is_not_prepared(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False  # DATABASE_PREPARED_STATEMENTS=false
    assert row_insert(new_event(message_sid="SM-c")) is not None
    assert _prepared_inserts(connection) == []
    assert WebhookEvent.objects.get().message_sid == "SM-c"
