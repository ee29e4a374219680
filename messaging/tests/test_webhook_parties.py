"""Events stored before the parties' columns existed get them from the data migration, read by their provider."""

import importlib

import pytest
from django.apps import apps

from messaging.backends.simulator import inbound_payload
from messaging.backends.twilio.tests.payloads import status_callback, whatsapp_text
from messaging.models import WebhookEvent

pytestmark = pytest.mark.django_db

fill = importlib.import_module("messaging.migrations.0013_webhook_parties_fill").fill


def test_the_data_migration_fills_the_parties_of_earlier_events():
    twilio = WebhookEvent.objects.create(
        provider="twilio", kind="inbound", payload=whatsapp_text(sender="+905551234567")
    )
    callback = WebhookEvent.objects.create(
        provider="twilio", kind="status", payload=status_callback(sid="SM1", status="sent", to="05559876543")
    )
    simulated = WebhookEvent.objects.create(
        provider="simulator", kind="inbound", payload=inbound_payload(sender="+905551112233", channel="sms", body="x")
    )
    unknown = WebhookEvent.objects.create(provider="retired", kind="inbound", payload={"From": "+905551234567"})
    fill(apps, None)
    rows = {e.pk: (e.sender, e.recipient) for e in WebhookEvent.objects.all()}
    assert rows[twilio.pk] == ("+905551234567", "+14155238886")
    assert rows[callback.pk][1] == "+905559876543", "normalised, as leads' phones are"
    assert rows[simulated.pk] == ("+905551112233", "")
    assert rows[unknown.pk] == ("", "")
