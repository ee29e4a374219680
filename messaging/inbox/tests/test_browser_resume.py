"""The inbox page after its stream's resume point was pruned by retention (a real browser, a live server)."""

import datetime

from django.utils import timezone

from happycrm.tests.browser import MARKS as BROWSER_MARKS
from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import whatsapp_text
from messaging.inbox.tests.test_browser import lead_with_conversation, page, post_webhook  # noqa: F401 -- fixture
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory
from notifications import hub, views
from notifications.models import Event
from notifications.services import events_prune

pytestmark = BROWSER_MARKS


def test_a_pruned_resume_point_reloads_the_list_and_listens_from_now(page, live_server, monkeypatch):  # noqa: F811
    monkeypatch.setattr(hub, "LOCAL_POLL_SECONDS", 60.0)  # only announced events reach the page
    monkeypatch.setattr(views, "STREAM_SECONDS", 2.0)  # streams end soon: the browser reconnects with its id
    lead_with_conversation()
    page.goto(f"{live_server.url}/inbox/")
    page.wait_for_selector("body[data-live=open]")
    post_webhook(live_server, whatsapp_text(sender="+905334445566", body="Görülen mesaj", profile_name="Deniz"))
    page.wait_for_selector("#inbox-list >> text=Görülen mesaj", timeout=5000)

    # While the page is between two connections' worth of events: a message arrives whose events are pruned
    # before the page resumes (stored silently here, then the events after the page's cursor pruned).
    missed = InboundMessageFactory(lead=LeadFactory(name="Kaçırılan Kişi", phone="+905447778899"), body="Boşlukta")
    lead_activity_refresh(lead=missed.lead)
    gap = [Event.objects.create(type=Event.Type.NEW_MESSAGE, lead=missed.lead, payload={}) for _ in range(2)]
    Event.objects.update(created_at=timezone.now() - datetime.timedelta(days=30))
    assert events_prune(older_than=datetime.timedelta(days=7)) >= len(gap)

    # The reconnect is refused (410); the page reloads its list and listens from now.
    page.wait_for_selector("body[data-resumed=from-now]", timeout=15000)
    page.wait_for_selector("#inbox-list >> text=Boşlukta", timeout=5000)
    page.wait_for_selector("body[data-live=open]")
    post_webhook(live_server, whatsapp_text(sender="+905334445566", body="Yeniden canlı"))
    page.wait_for_selector("#inbox-list >> text=Yeniden canlı", timeout=5000)
