"""A `campaign_finished` event names no lead: the feed, the hub and a lead's erasure take it, agents' pages let it
pass (they listen to the types they handle only)."""

import asyncio
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from leads.tests.factories import LeadFactory
from notifications import hub
from notifications.models import Event
from notifications.services import event_campaign_finished, lead_events_erase

pytestmark = pytest.mark.django_db

INBOX_JS = Path(settings.BASE_DIR) / "messaging/inbox/static/inbox/js/inbox.js"


def test_the_events_feed_serves_it_without_a_lead(staff_client):
    cursor = staff_client.get(reverse("api:events")).json()["cursor"]
    event = event_campaign_finished(campaign_id="c0ffee00-0000-0000-0000-000000000001", payload={"name": "Kış"})
    assert event.lead_id is None
    events = staff_client.get(reverse("api:events"), {"cursor": cursor}).json()["events"]
    assert [(e["type"], e["data"]["campaign_id"], e["data"]["name"]) for e in events] == [
        ("campaign_finished", "c0ffee00-0000-0000-0000-000000000001", "Kış")
    ]
    lead = LeadFactory()
    assert lead_events_erase(lead_id=lead.pk) == 0 and Event.objects.filter(pk=event.pk).exists()


def test_the_hub_hands_it_to_open_streams_as_any_other_event():
    event = event_campaign_finished(campaign_id="c0ffee00-0000-0000-0000-000000000002", payload={"name": "Bahar"})
    loop = asyncio.new_event_loop()
    try:
        the_hub = hub.Hub(loop)
        stream = the_hub.add(user_id=1)
        the_hub._deliver([event])
        [(pk, frame)] = stream.queue.get_nowait()
    finally:
        loop.close()
    assert pk == event.pk and frame.startswith("event: campaign_finished\n") and '"name": "Bahar"' in frame


def test_agents_pages_have_no_listener_for_it():
    """EventSource calls only the listeners of an event's own type: an inbox page ignores campaign_finished."""
    source = INBOX_JS.read_text()
    listened = set(re.findall(r'\bon\("([a-z_]+)"', source))
    assert {"new_message", "status_update", "lead_changed"} <= listened
    assert "campaign_finished" not in listened and "onmessage" not in source
    assert 'addEventListener("message"' not in source
