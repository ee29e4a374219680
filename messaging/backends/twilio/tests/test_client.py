"""The twilio client's HTTP session: the environment's proxy settings, read once per origin."""

import pytest
import requests

from messaging.backends.twilio import client as twilio_client
from messaging.services.outbound import message_send
from messaging.tests.factories import InboundMessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_clients():
    twilio_client._client.cache_clear()
    yield
    twilio_client._client.cache_clear()


def test_the_environment_is_read_once_per_origin_not_per_send(twilio, monkeypatch, fresh_clients):
    reads = []
    real = requests.utils.get_environ_proxies
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", lambda *a, **k: reads.append(a) or real(*a, **k))
    lead = InboundMessageFactory(channel="sms").lead  # an SMS lead: no window to mind
    for text in ("bir", "iki", "üç"):
        with twilio.commit():
            message_send(lead=lead, body=text)
    assert [form["Body"] for form in twilio.forms] == ["bir", "iki", "üç"]
    assert len(reads) == 1


def test_a_proxy_set_in_the_environment_is_still_used(twilio, settings, monkeypatch, fresh_clients):
    # The fake Twilio stands in for the proxy: a request for another host arrives there with its absolute URL.
    monkeypatch.setenv("HTTP_PROXY", twilio.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    settings.TWILIO_API_BASE_URL = "http://api.twilio.invalid"
    lead = InboundMessageFactory(channel="sms").lead  # an SMS lead: no window to mind
    with twilio.commit():
        message_send(lead=lead, body="vekil")
    assert twilio.requests[-1]["path"].startswith("http://api.twilio.invalid/2010-04-01/Accounts/")
    assert twilio.forms[-1]["Body"] == "vekil"
