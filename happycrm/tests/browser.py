"""Browser tests drive Debian's chromium with Playwright against the live server (the `browser` fixture)."""

import shutil
from contextlib import contextmanager

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip

MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed (.ci/run installs it)"),
    # A page's live stream outlives its test for a moment; on SQLite the live server shares one connection
    # with the tests that follow, so the browser runs against PostgreSQL, as in CI.
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
    ),
    pytest.mark.django_db(transaction=True),
]


def log_in(page, live_server, username: str, password: str) -> None:
    """Through the login form, as a person does; lands on the inbox."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")  # not the top bar's language switch
    page.wait_for_url("**/inbox/")


@contextmanager
def logged_in_page(browser, live_server, user, password: str, *, viewport: dict):
    """A page logged in as `user` (English), recording the Content Security Policy violations its console
    reports in `page.violations`; its context closed afterwards."""
    context = browser.new_context(locale="en-US", viewport=viewport)
    page = context.new_page()
    page.violations = []
    page.on(
        "console", lambda message: "Content Security Policy" in message.text and page.violations.append(message.text)
    )
    log_in(page, live_server, user.get_username(), password)
    try:
        yield page
    finally:
        context.close()
