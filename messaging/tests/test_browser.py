"""The agents' pages in a real browser (Debian's chromium driven by Playwright) against a live server."""

import datetime
import os
import shutil
import time
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.roles import AGENTS
from leads.tests.factories import LeadFactory
from messaging.models import Message
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory
from messaging.tests.twilio import AUTH_TOKEN, sign, status_callback, whatsapp_text
from templates_app.tests.factories import TemplateFactory

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
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
PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs beside the ORM calls of the test
    try:
        yield from _launch(sync_playwright)
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def _launch(sync_playwright):
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, user_in_role, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_VALIDATE_SIGNATURE = True
    settings.PUBLIC_BASE_URL = live_server.url
    user_in_role("agent", AGENTS, password=PASSWORD)
    context = browser.new_context(locale="en-US", viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "agent")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/")
    yield page
    context.close()


def post_webhook(live_server, payload):
    url = f"{live_server.url}/api/twilio/webhook"
    headers = {"X-Twilio-Signature": sign(url, payload)}
    request = Request(url, urlencode(payload).encode(), headers)  # noqa: S310 -- our own live server
    with urlopen(request) as response:  # noqa: S310 -- the test's own live server, http only
        assert response.status == 200


def lead_with_conversation(**kwargs):
    lead = LeadFactory(phone="+905551234567", name="Ayşe Yılmaz", **kwargs)
    InboundMessageFactory(lead=lead, body="İlk mesaj", created_at=timezone.now())
    lead_activity_refresh(lead=lead)
    return lead


def test_live_conversation_reply_ticks_and_escaping(page, live_server):
    lead = lead_with_conversation()
    page.goto(f"{live_server.url}/inbox/{lead.pk}/")
    page.wait_for_selector("text=İlk mesaj")
    page.wait_for_timeout(300)  # the stream is open

    started = time.monotonic()
    post_webhook(live_server, whatsapp_text(body="Canlı geldi"))
    page.wait_for_selector("text=Canlı geldi", timeout=5000)
    print(f"webhook to screen: {(time.monotonic() - started) * 1000:.0f} ms")

    page.fill("textarea[name=body]", "Merhaba Ayşe Hanım")
    page.press("textarea[name=body]", "Enter")
    page.wait_for_selector(".bubble.ours >> text=Merhaba Ayşe Hanım")
    assert page.input_value("textarea[name=body]") == ""
    sent = Message.objects.get(is_from_lead=False)
    post_webhook(live_server, status_callback(sid=sent.twilio_message_sid, status="read"))
    page.wait_for_selector(f"#message-{sent.pk} .tick.read", timeout=5000)

    post_webhook(live_server, whatsapp_text(body="<script>window.hacked = 1</script>"))
    page.wait_for_selector("text=<script>window.hacked = 1</script>", timeout=5000)
    assert page.evaluate("window.hacked") is None


def test_inbox_updates_without_reload(page, live_server):
    lead_with_conversation()
    page.goto(f"{live_server.url}/inbox/")
    page.wait_for_timeout(300)
    post_webhook(live_server, whatsapp_text(sender="+905334445566", body="Yeni biri yazdı", profile_name="Deniz"))
    page.wait_for_selector("#inbox-rows >> text=Yeni biri yazdı", timeout=5000)
    rows = page.locator("#inbox-rows li.conversation").all_inner_texts()
    assert "Deniz" in rows[0] and "Ayşe Yılmaz" in rows[1]
    toast = page.locator(".toast")
    assert toast.inner_text().startswith("Deniz: Yeni biri yazdı")
    assert "/inbox/" in toast.locator("a").get_attribute("href")
    page.wait_for_function("document.title.startsWith('(2)')")  # Ayşe's unread one and Deniz's


def test_closed_window_offers_templates_and_an_image_can_be_sent(page, live_server, tmp_path):
    closed = LeadFactory(phone="+905321112233", name="Kapalı Pencere")
    TemplateFactory(name="randevu", content="Merhaba {{1}}")
    page.goto(f"{live_server.url}/inbox/{closed.pk}/")
    assert page.is_disabled("textarea[name=body]")
    assert page.is_visible("#window-closed")
    page.select_option("select[name=template]", label="randevu")
    page.wait_for_selector("#template-preview >> text=Merhaba Kapalı Pencere")
    page.click("button[name=send-template]")
    page.wait_for_selector(".bubble.ours >> text=Merhaba Kapalı Pencere")

    open_lead = lead_with_conversation()
    image = tmp_path / "salon.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 200)
    page.goto(f"{live_server.url}/inbox/{open_lead.pk}/")
    page.set_input_files("input[type=file]", str(image))
    page.click("button.primary")
    page.wait_for_selector(".bubble.ours img", timeout=5000)
    assert Message.objects.filter(lead=open_lead, media_content_type="image/png").exists()


def test_older_messages_load_when_scrolling_up(page, live_server):
    lead = LeadFactory(name="Uzun Sohbet")
    now = timezone.now()
    for n in range(70):
        InboundMessageFactory(
            lead=lead, body=f"eski mesaj {n:02d}", created_at=now - datetime.timedelta(minutes=70 - n)
        )
    lead_activity_refresh(lead=lead)
    page.goto(f"{live_server.url}/inbox/{lead.pk}/")
    page.wait_for_selector("text=eski mesaj 69")
    assert page.locator("text=eski mesaj 10").count() == 0
    for _ in range(3):
        page.evaluate("document.getElementById('thread').scrollTop = 0")
        page.wait_for_timeout(400)
    page.wait_for_selector("text=eski mesaj 00", timeout=5000)


FAKE_AUDIO = """
window.AudioContext = class {
  constructor() { localStorage.setItem("beeps", String(Number(localStorage.getItem("beeps") || 0) + 1)); }
  get currentTime() { return 0; }
  get destination() { return {}; }
  createOscillator() { return { frequency: {}, connect: (gain) => gain, start() {}, stop() {} }; }
  createGain() { return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect() {} }; }
};
"""


def test_one_notification_per_message_across_tabs(page, live_server):
    lead_with_conversation()
    page.context.add_init_script(FAKE_AUDIO)
    tabs = [page, page.context.new_page()]
    for tab in tabs:
        tab.goto(f"{live_server.url}/inbox/")
    page.wait_for_timeout(500)
    post_webhook(live_server, whatsapp_text(sender="+905334445566", body="İki sekme", profile_name="Deniz"))
    for tab in tabs:
        tab.wait_for_selector("#inbox-rows >> text=İki sekme", timeout=5000)
    page.wait_for_timeout(500)
    assert page.evaluate("localStorage.getItem('beeps')") == "1"
