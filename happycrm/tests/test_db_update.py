"""rows_update: many rows, each with its own values, in one statement sent per row and one round trip."""

import datetime

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone

from happycrm.crypto import value_key_id
from happycrm.db.update import rows_update
from webhooks.models import Delivery
from webhooks.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_prepared_as_save_prepares_them(django_assert_num_queries, settings):
    settings.MESSAGE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    subscription = SubscriptionFactory()
    rows = [Delivery.objects.create(subscription=subscription, event="lead.updated") for _ in range(3)]
    other = Delivery.objects.create(subscription=subscription, event="lead.updated", response_body="kept")
    when = timezone.now() - datetime.timedelta(hours=1)
    for n, row in enumerate(rows):
        row.response_body, row.response_status, row.finished_at, row.next_attempt_at = (
            f"answer {n}",
            200 + n,
            when,
            None,
        )
    with django_assert_num_queries(1):
        rows_update(rows, ["response_body", "response_status", "finished_at", "next_attempt_at"])
    for n, row in enumerate(Delivery.objects.filter(pk__in=[row.pk for row in rows]).order_by("pk")):
        assert (row.response_body, row.response_status, row.finished_at, row.next_attempt_at) == (
            f"answer {n}",
            200 + n,
            when,
            None,
        )
    assert Delivery.objects.get(pk=other.pk).response_body == "kept"
    with connection.cursor() as cursor:  # the encrypted field went through its own preparation
        cursor.execute("SELECT response_body FROM webhooks_delivery WHERE id = %s", [rows[0].pk])
        stored = cursor.fetchone()[0]
    assert stored != "answer 0" and value_key_id(stored) is not None


def test_nothing_to_write_sends_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        rows_update([], ["response_body"])
