"""The inbox with message content encrypted: the search box says it finds leads by name and phone only."""

import os
from pathlib import Path

from cryptography.fernet import Fernet
from playwright.sync_api import expect

from accounts.roles import AGENTS
from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import log_in
from leads.tests.factories import LeadFactory
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory

pytestmark = BROWSER_MARKS
PASSWORD = "browser-test-password"
# Set to a folder (docs/screenshots) to keep the picture; the test looks at the page either way.
SCREENSHOTS = os.environ.get("HAPPYCRM_SCREENSHOTS")


def test_the_inbox_search_says_message_text_is_not_searched(browser, live_server, user_in_role, settings, tmp_path):
    settings.MESSAGE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    for name, body in (("Ayşe Yılmaz", "Yarın 14:00 uygun mu?"), ("Mehmet Demir", "Fiyat listesi lütfen")):
        lead = LeadFactory(name=name)
        InboundMessageFactory(lead=lead, body=body)
        lead_activity_refresh(lead=lead)
    user_in_role("agent", AGENTS, password=PASSWORD)
    context = browser.new_context(locale="tr-TR", viewport={"width": 1200, "height": 700})
    page = context.new_page()
    log_in(page, live_server, "agent", PASSWORD)
    note = page.locator("#q-note")
    expect(note).to_be_visible()
    assert page.get_attribute("#q", "aria-describedby") == "q-note"
    rows = page.locator("#inbox-list li.conversation")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Fiyat listesi lütfen")  # read back decrypted
    page.fill("#q", "fiyat")
    expect(page.locator("#inbox-list li.empty")).to_be_visible()
    page.fill("#q", "mehmet")
    expect(rows).to_have_count(1)
    box, search = note.bounding_box(), page.locator("#q").bounding_box()
    assert box["y"] > search["y"] + search["height"] - 1, "the note is on its own line under the search box"
    path = Path(SCREENSHOTS) / "inbox-search-encrypted.png" if SCREENSHOTS else tmp_path / "inbox.png"
    page.screenshot(path=str(path))
    context.close()
