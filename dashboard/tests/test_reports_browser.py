"""The dashboard's team reports in a real browser (Debian's chromium) at a laptop's width: a month of a small team's
conversations, its screenshot in docs/screenshots."""

import datetime
import random
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from conversations.models import Conversation
from conversations.tests.factories import ConversationFactory
from happycrm.days import day_start
from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import log_in
from leads.tests.factories import LeadFactory

pytestmark = BROWSER_MARKS
PASSWORD = "browser-test-password"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
LAPTOP = {"width": 1366, "height": 900}


def a_month_of_conversations(agents) -> None:
    """Each past day a few leads write during working hours; most are answered within minutes, some after hours,
    a few never; most are resolved the same day."""
    rng = random.Random(14)  # noqa: S311 -- the same made-up month every run
    today = timezone.localdate()
    now = timezone.now()
    for days_ago in range(29, -1, -1):
        for _ in range(rng.randint(2, 7)):
            opened = day_start(today - datetime.timedelta(days=days_ago)) + datetime.timedelta(
                hours=rng.randint(9, 19), minutes=rng.randint(0, 59)
            )
            if opened > now:
                continue
            wait = datetime.timedelta(minutes=rng.choice([1, 2, 3, 5, 8, 12, 20, 45, 90, 240]))
            answered = None if rng.random() < 0.1 else opened + wait
            resolved = opened + datetime.timedelta(hours=rng.randint(1, 30)) if rng.random() < 0.8 else None
            if answered and resolved and resolved < answered:
                resolved = answered + datetime.timedelta(minutes=30)
            if (answered and answered > now) or (resolved and resolved > now):
                answered = resolved = None
            ConversationFactory(
                lead=LeadFactory(),
                assignee=rng.choice([*agents, None]) if answered else None,
                opened_at=opened,
                first_response_at=answered,
                status=Conversation.Status.RESOLVED if resolved else Conversation.Status.OPEN,
                resolved_at=resolved,
            )


@pytest.fixture
def page(browser, live_server, django_user_model):
    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    context = browser.new_context(locale="en-US", viewport=LAPTOP)
    page = context.new_page()
    log_in(page, live_server, "admin", PASSWORD)
    yield page
    context.close()


def test_the_reports_show_a_month_per_agent_and_per_day(page, live_server, django_user_model):
    agents = [
        django_user_model.objects.create_user("ayse", first_name="Ayşe", last_name="Yılmaz"),
        django_user_model.objects.create_user("deniz", first_name="Deniz", last_name="Kara"),
        django_user_model.objects.create_user("mert", first_name="Mert", last_name="Öztürk"),
    ]
    a_month_of_conversations(agents)
    page.goto(f"{live_server.url}/admin/")
    reports = page.locator("#dash-reports")
    expect(reports).to_be_visible()
    agent_rows = page.locator("#dash-report-agents tbody tr")
    expect(agent_rows).to_have_count(4)  # three agents and nobody's
    expect(agent_rows.first.locator("th")).to_have_text("Ayşe Yılmaz")
    expect(page.locator("#dash-report-days tbody tr")).to_have_count(30)
    assert page.locator("#dash-reports svg.dash-chart rect.opened").count() == 30
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"the page is {width} px wide"
    for table in ("#dash-report-agents", "#dash-report-days"):
        room, used = page.evaluate(
            f"[document.querySelector('{table}').parentElement.clientWidth, "
            f"document.querySelector('{table}').scrollWidth]"
        )
        assert used <= room, f"{table} is {used} px wide in {room} px"
    reports.screenshot(path=str(SCREENSHOTS / "dashboard-reports.png"))
