"""The dispatcher: the notifications feed turned into deliveries, each event type with its payload, for the active
subscriptions that want it, once, from where the cursor stands."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign, CampaignRecipient
from leads.models import Lead
from leads.services import lead_save
from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import status_callback, whatsapp_text
from messaging.models import Message
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from notifications.models import Event
from notifications.services import event_record
from templates_app.models import Template
from webhooks import selectors, services
from webhooks.models import Delivery, DispatchCursor
from webhooks.services import deliveries_dispatch

from .factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks):
    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return deliveries_dispatch(**kwargs)

    return run


def cursor() -> int:
    return DispatchCursor.objects.get().position


def newest_event() -> int:
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first()


def test_an_inbound_message_is_received_with_its_lead_and_the_new_lead_created(post_webhook, dispatch, receiver):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    post_webhook(whatsapp_text(body="Merhaba, fiyat alabilir miyim?", profile_name="Deniz"))
    assert dispatch() == 2
    message = Message.objects.get()
    lead = message.lead
    created, received = Delivery.objects.order_by("pk")
    assert (created.event, received.event) == ("lead.created", "message.received")
    assert created.payload["data"] == {"lead": selectors.lead_data(lead)}
    assert created.payload["data"]["lead"]["phone"] == "+905551234567"
    assert created.payload["data"]["lead"]["is_unregistered"] is True
    assert received.payload["event"] == "message.received"
    assert received.payload["event_id"] == received.event_id == Event.objects.get(type="new_message").pk
    data = received.payload["data"]
    assert data["message"] == {
        "id": str(message.pk),
        "lead_id": str(lead.pk),
        "direction": "inbound",
        "channel": "whatsapp",
        "status": "received",
        "body": "Merhaba, fiyat alabilir miyim?",
        "template_name": "",
        "media": [],
        "error_code": None,
        "error_explanation": None,
        "created_at": message.created_at.isoformat(),
    }
    assert data["lead"]["name"] == "Deniz" and data["lead"]["id"] == str(lead.pk)
    assert received.lead_id == created.lead_id == lead.pk
    assert {delivery.subscription_id for delivery in (created, received)} == {subscription.pk}
    # Sent through the eager queue at once, in our own words: no provider field anywhere.
    assert Delivery.objects.filter(status="succeeded").count() == 2
    assert "SM" not in str(received.payload) and "twilio" not in str(received.payload).lower()
    assert cursor() == newest_event()


def test_a_status_change_says_the_status_it_reports_and_what_its_error_means(post_webhook, dispatch):
    SubscriptionFactory(events=["message.status_changed"])
    message = MessageFactory(status="sent", twilio_message_sid="SM" + "a" * 32)
    post_webhook(status_callback(sid=message.twilio_message_sid, status="undelivered", error_code="63016"))
    post_webhook(status_callback(sid=message.twilio_message_sid, status="delivered"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_queue", lambda ids: None)
        assert dispatch() >= 1
    statuses = [d.payload["data"]["message"] for d in Delivery.objects.order_by("pk")]
    assert statuses[0]["status"] == "undelivered"
    assert statuses[0]["error_code"] == 63016
    assert statuses[0]["error_explanation"]  # the provider's table, in our words
    assert statuses[0]["direction"] == "outbound"
    assert all(delivery.event == "message.status_changed" for delivery in Delivery.objects.all())


def test_lead_updates_and_creations_from_the_admin_paths(dispatch):
    SubscriptionFactory(events=["lead.created", "lead.updated"])
    lead = LeadFactory.build(name="Ayşe Yılmaz", phone="+905321112233")
    lead.stage_id = Lead._meta.get_field("stage").related_model.objects.get(is_default=True).pk
    lead_save(lead=lead)
    lead.name = "Ayşe Kaya"
    lead_save(lead=lead)
    dispatch()
    created, updated = Delivery.objects.order_by("pk")
    assert created.event == "lead.created" and updated.event == "lead.updated"
    assert updated.payload["data"]["lead"]["name"] == "Ayşe Kaya"  # the lead as it is when dispatched
    assert updated.payload["data"]["lead"]["stage"]["name"]


def test_a_finished_campaign(dispatch):
    SubscriptionFactory(events=["campaign.finished"])
    template = Template.objects.create(name="kis", content="Merhaba {{1}}", content_sid="HX" + "c" * 32)
    campaign = Campaign.objects.create(name="Kış", template=template, status=Campaign.Status.DONE)
    lead = LeadFactory()
    CampaignRecipient.objects.create(campaign=campaign, lead=lead, outcome=CampaignRecipient.Outcome.QUEUED)
    CampaignRecipient.objects.create(campaign=campaign, lead=LeadFactory(), outcome="skipped_opted_out")
    event_record(
        type="campaign_finished",
        lead_id=lead.pk,
        payload={"campaign_id": str(campaign.pk), "counts": {"total": 2, "unconfirmed": 1}},
    )
    dispatch()
    (delivery,) = Delivery.objects.all()
    assert delivery.event == "campaign.finished" and delivery.lead_id is None
    assert delivery.payload["data"]["campaign"] == {
        "id": str(campaign.pk),
        "name": "Kış",
        "status": "done",
        "template_name": "kis",
        "recipients": 2,
        "outcomes": {"queued": 1, "skipped_opted_out": 1},
        "unconfirmed": 1,
        "started_at": None,
        "finished_at": None,
    }


def test_only_active_subscriptions_that_want_the_event_get_it(dispatch):
    wants = SubscriptionFactory(events=["lead.updated"])
    SubscriptionFactory(events=["message.received"])
    SubscriptionFactory(events=["lead.updated"], is_active=False)
    both = SubscriptionFactory(events=["lead.updated", "lead.created"])
    lead = LeadFactory()
    lead_save(lead=lead)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_queue", lambda ids: None)
        assert dispatch() == 2
    assert sorted(Delivery.objects.values_list("subscription_id", flat=True)) == sorted([wants.pk, both.pk])


def test_events_no_subscription_can_want_make_no_delivery(dispatch):
    SubscriptionFactory()
    message = MessageFactory()  # ours, not a lead's: a new_message event for it is not a received message
    event_record(type=Event.Type.NEW_MESSAGE, lead_id=message.lead_id, message_id=message.pk, payload={})
    event_record(type=Event.Type.READ, lead_id=message.lead_id, payload={})
    event_record(type=Event.Type.MESSAGE_SENT, lead_id=message.lead_id, message_id=message.pk, payload={})
    assert dispatch() == 0
    assert cursor() == newest_event()


def test_the_cursor_advances_and_nothing_is_dispatched_twice(dispatch):
    SubscriptionFactory(events=["lead.updated"])
    leads = LeadFactory.create_batch(5)
    for lead in leads:
        lead_save(lead=lead)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_queue", lambda ids: None)
        assert dispatch(batch_size=2) == 5  # in batches of two
        assert dispatch() == 0
        lead_save(lead=leads[0])
        assert dispatch() == 1
    assert Delivery.objects.count() == 6
    assert cursor() == newest_event()


def test_one_run_stops_after_its_batches_and_the_next_continues(dispatch):
    SubscriptionFactory(events=["lead.updated"])
    for lead in LeadFactory.create_batch(5):
        lead_save(lead=lead)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_queue", lambda ids: None)
        assert dispatch(batch_size=2, max_batches=1) == 2
        assert dispatch(batch_size=2, max_batches=10) == 3


def test_with_no_active_subscription_only_the_cursor_moves(dispatch, django_assert_num_queries):
    SubscriptionFactory(is_active=False)
    for lead in LeadFactory.create_batch(3):
        lead_save(lead=lead)
    with django_assert_num_queries(2):  # the active subscriptions, one UPDATE
        assert dispatch() == 0
    assert cursor() == newest_event()
    assert not Delivery.objects.exists()
    with django_assert_num_queries(2):  # nothing new: the UPDATE matches no row, nothing is written
        dispatch()


@pytest.mark.parametrize("leads", [5, 40])
def test_a_batch_takes_the_same_queries_whatever_its_size(leads, dispatch, django_assert_max_num_queries):
    SubscriptionFactory()
    SubscriptionFactory()
    for _ in range(leads):
        lead = LeadFactory()
        lead_save(lead=lead)
        InboundMessageFactory(lead=lead)
    for message in Message.objects.all():
        event_record(type=Event.Type.NEW_MESSAGE, lead_id=message.lead_id, message_id=message.pk, payload={})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_queue", lambda ids: None)
        # The subscriptions, the lock, the events, the messages and their media, the leads, the inserts (SQLite
        # splits them at 999 parameters), the cursor.
        with django_assert_max_num_queries(10 if connection.vendor == "postgresql" else 14):
            assert dispatch() == leads * 2 * 2


def test_a_recent_gap_in_the_ids_is_waited_for(monkeypatch, dispatch):
    """An id skipped over may be a transaction still to commit: the events after it wait, then go once the gap is
    old enough to be a rollback."""
    monkeypatch.setattr(services, "GAP_WAIT", datetime.timedelta(seconds=5))
    monkeypatch.setattr(services, "_queue", lambda ids: None)
    SubscriptionFactory(events=["lead.updated"])
    lead = LeadFactory()
    lead_save(lead=lead)
    position = newest_event()
    DispatchCursor.objects.update(position=position)
    gap = Event.objects.create(type=Event.Type.READ, lead=lead)
    lead_save(lead=lead)
    gap.delete()  # as if rolled back: its id is missing from the feed
    assert dispatch() == 0
    assert cursor() == position
    Event.objects.filter(pk__gt=position).update(created_at=timezone.now() - datetime.timedelta(seconds=6))
    assert dispatch() == 1
    assert cursor() == newest_event()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_two_dispatchers_at_once_never_deliver_an_event_twice(monkeypatch):
    """The second waits for nothing: the cursor's row is locked, so it returns and the next run continues."""
    monkeypatch.setattr(services, "_queue", lambda ids: None)
    DispatchCursor.objects.update_or_create(pk=1, defaults={"position": 0})
    SubscriptionFactory(events=["lead.updated"])
    for lead in LeadFactory.create_batch(20):
        lead_save(lead=lead)
    DispatchCursor.objects.filter(pk=1).update(position=Event.objects.order_by("pk").first().pk - 1)
    real = selectors.events_payloads
    inside = threading.Event()

    def slow(**kwargs):
        inside.set()
        threading.Event().wait(0.5)
        return real(**kwargs)

    monkeypatch.setattr(services, "events_payloads", slow)
    results = []

    def run():
        try:
            results.append(deliveries_dispatch())
        finally:
            connection.close()

    first = threading.Thread(target=run)
    first.start()
    inside.wait(5)
    second = threading.Thread(target=run)
    second.start()
    first.join(10)
    second.join(10)
    assert sorted(results) == [0, 20]
    assert deliveries_dispatch() == 0
    assert Delivery.objects.count() == 20
    assert len(set(Delivery.objects.values_list("event_id", flat=True))) == 20
