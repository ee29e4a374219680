"""An agent makes an API token on their own page with a browser: shown once, then listed without its secret."""

from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import ApiToken
from accounts.roles import AGENTS
from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import logged_in_page

pytestmark = BROWSER_MARKS
PASSWORD = "token-browser-password"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


@pytest.fixture
def agent_page(browser, live_server, user_in_role):
    agent = user_in_role("deniz", AGENTS, password=PASSWORD)
    with logged_in_page(browser, live_server, agent, PASSWORD, viewport={"width": 1366, "height": 800}) as page:
        yield page


def test_an_agent_makes_a_token_and_sees_it_once(agent_page, live_server):
    page = agent_page
    page.goto(f"{live_server.url}/")
    page.click("text=API tokens")
    page.fill("input[name=name]", "Muhasebe entegrasyonu")
    page.click("button:has-text('Create token')")
    secret = page.input_value(".token-value")
    token = ApiToken.objects.get()
    assert secret.startswith(token.token_key) and token.name == "Muhasebe entegrasyonu"
    assert page.locator("table.tokens tbody tr").count() == 1
    page.screenshot(path=SCREENSHOTS / "api-tokens.png", full_page=True)
    page.reload()
    assert page.locator(".token-value").count() == 0 and secret not in page.content()
    assert page.violations == []
