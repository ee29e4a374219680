"""Merging a likely duplicate from the inbox's lead panel in a real browser (Debian's chromium): the panel names it,
the merge is one disclosure and one button, and the page comes back on the kept lead with both threads."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import AGENTS
from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import logged_in_page
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory
from privacy.models import ErasureReceipt

pytestmark = BROWSER_MARKS
PASSWORD = "browser-test-password"
DESKTOP = {"width": 1400, "height": 860}


def talking_lead(name: str, phone: str, body: str, *, minutes_ago: int):
    lead = LeadFactory(name=name, phone=phone)
    InboundMessageFactory(lead=lead, body=body, created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago))
    lead_activity_refresh(lead=lead)
    return lead


@pytest.fixture
def agent(user_in_role):
    agent = user_in_role("ayse", AGENTS, first_name="Ayşe", password=PASSWORD)
    agent.user_permissions.add(Permission.objects.get(content_type__app_label="privacy", codename="merge_lead"))
    return agent


def test_an_agent_merges_a_likely_duplicate_into_the_open_lead(browser, live_server, agent):
    kept = talking_lead("Elif Kaya", "+905551110001", "Merhaba, düğün için fiyat alabilir miyim?", minutes_ago=30)
    duplicate = talking_lead("ELİF KAYA", "+905552220002", "Diğer numaramdan yazıyorum", minutes_ago=5)
    with logged_in_page(browser, live_server, agent, PASSWORD, viewport=DESKTOP) as page:
        page.goto(f"{live_server.url}/inbox/{kept.pk}/")
        expect(page.locator("#inbox-list li.conversation")).to_have_count(2)
        duplicates = page.locator("#lead-panel .duplicates")
        expect(duplicates.locator(".duplicate")).to_have_count(1)
        expect(duplicates).to_contain_text("ELİF KAYA")
        button = duplicates.get_by_role("button", name="Merge ELİF KAYA into this lead")
        expect(button).to_be_hidden()  # behind its disclosure: one click to read what happens, one to merge
        duplicates.locator("summary").click()
        expect(duplicates).to_contain_text("This cannot be undone.")
        button.click()

        expect(page.locator(".flash")).to_contain_text("ELİF KAYA was merged into Elif Kaya")
        assert page.url.endswith(f"/inbox/{kept.pk}/")
        thread = page.locator("#conversation #thread")
        expect(thread).to_contain_text("düğün için fiyat")
        expect(thread).to_contain_text("Diğer numaramdan yazıyorum")
        expect(page.locator("#inbox-list li.conversation")).to_have_count(1)
        expect(page.locator("#lead-panel .duplicates")).to_have_count(0)
        assert not page.violations
    assert not Lead.objects.filter(pk=duplicate.pk).exists()
    assert ErasureReceipt.objects.get().merged_into == kept.pk
