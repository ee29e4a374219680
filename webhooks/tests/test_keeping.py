"""What is kept of the deliveries: pruned once finished and old, gone with their lead's erasure, encrypted at rest
with the message content's keys (and counted and rotated with them)."""

import datetime

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone

from encryption.services import encryption_rotate, encryption_status
from leads.tests.factories import LeadFactory
from privacy.services import Requester, lead_erase
from retention.services import retention_prune
from webhooks.models import Delivery, Subscription

from .factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def delivery(subscription, **fields) -> Delivery:
    return Delivery.objects.create(subscription=subscription, event="lead.created", payload={"n": 1}, **fields)


def test_retention_prunes_only_finished_deliveries_older_than_their_days(settings):
    settings.RETENTION_WEBHOOK_DELIVERIES_DAYS = 14
    subscription = SubscriptionFactory()
    long_ago = timezone.now() - datetime.timedelta(days=15)
    old_done = delivery(subscription, status="succeeded", created_at=long_ago, finished_at=long_ago)
    old_failed = delivery(subscription, status="failed", created_at=long_ago, finished_at=timezone.now())
    recent = delivery(subscription, status="succeeded", finished_at=timezone.now())
    waiting = delivery(subscription, status="retrying", created_at=long_ago)
    run = retention_prune(batch_size=1)
    assert run.results["webhook_deliveries"] == {"days": 14, "deleted": 2, "error": ""}
    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert not Delivery.objects.filter(pk__in=[old_done.pk, old_failed.pk]).exists()


def test_a_leads_erasure_removes_the_deliveries_about_it(admin_user, django_capture_on_commit_callbacks):
    subscription = SubscriptionFactory()
    lead, other = LeadFactory(), LeadFactory()
    delivery(subscription, lead_id=lead.pk)
    kept = delivery(subscription, lead_id=other.pk)
    with django_capture_on_commit_callbacks(execute=True):
        receipt = lead_erase(lead=lead, requester=Requester.admin(admin_user))
    assert receipt.counts["webhook_deliveries"] == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [kept.pk]


def stored(table: str, column: str, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 -- the test's own names
        return str(cursor.fetchone()[0])


def test_secrets_payloads_and_answers_are_encrypted_counted_and_rotated(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MESSAGE_ENCRYPTION_KEYS = [first]
    subscription = SubscriptionFactory(secret="whsec_a-very-secret-secret")
    sent = delivery(subscription, response_body="ok from the ERP")
    pk = subscription.pk.hex if connection.vendor == "sqlite" else subscription.pk
    assert stored("webhooks_subscription", "secret", pk).startswith("enc1:")
    assert "a-very-secret" not in stored("webhooks_subscription", "secret", pk)
    assert "enc1:" in stored("webhooks_delivery", "payload", sent.pk)
    assert stored("webhooks_delivery", "response_body", sent.pk).startswith("enc1:")
    assert Subscription.objects.get().secret == "whsec_a-very-secret-secret"

    counts = encryption_status()
    assert sum(counts["webhook_subscription.secret"].values()) == 1
    assert sum(counts["webhook_delivery.payload"].values()) == 1
    settings.MESSAGE_ENCRYPTION_KEYS = [second, first]
    assert encryption_rotate() >= 2
    settings.MESSAGE_ENCRYPTION_KEYS = [second]
    assert Subscription.objects.get().secret == "whsec_a-very-secret-secret"
    assert Delivery.objects.get().payload == {"n": 1}
