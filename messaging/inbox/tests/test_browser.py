"""The agents' pages in a real browser (Debian's chromium driven by Playwright) against a live server."""

import datetime
import re
import time
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import AGENTS
from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import log_in
from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import AUTH_TOKEN, sign, status_callback, whatsapp_text
from messaging.models import Message
from messaging.services.messages import lead_activity_refresh
from messaging.services.outbound import message_send
from messaging.tests.factories import InboundMessageFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = BROWSER_MARKS
PASSWORD = "browser-test-password"


@pytest.fixture
def page(browser, live_server, user_in_role, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_VALIDATE_SIGNATURE = True
    settings.PUBLIC_BASE_URL = live_server.url
    user_in_role("agent", AGENTS, password=PASSWORD)
    context = browser.new_context(locale="en-US", viewport={"width": 1200, "height": 800})
    page = context.new_page()
    log_in(page, live_server, "agent", PASSWORD)
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
    page.wait_for_selector("body[data-live=open]")  # the stream is open: nothing announced from now on is missed

    started = time.monotonic()
    post_webhook(live_server, whatsapp_text(body="Canlı geldi"))
    page.wait_for_selector("text=Canlı geldi", timeout=5000)
    print(f"webhook to screen: {(time.monotonic() - started) * 1000:.0f} ms")

    page.fill("#composer textarea[name=body]", "Merhaba Ayşe Hanım")
    page.press("#composer textarea[name=body]", "Enter")
    page.wait_for_selector(".bubble.ours >> text=Merhaba Ayşe Hanım")
    expect(page.locator("#composer textarea[name=body]")).to_have_value("")  # the live event may show the bubble first
    sent = Message.objects.get(is_from_lead=False)
    post_webhook(live_server, status_callback(sid=sent.twilio_message_sid, status="read"))
    page.wait_for_selector(f"#message-{sent.pk} .tick.read", timeout=5000)

    post_webhook(live_server, whatsapp_text(body="<script>window.hacked = 1</script>"))
    page.wait_for_selector("text=<script>window.hacked = 1</script>", timeout=5000)
    assert page.evaluate("window.hacked") is None


def test_the_inbox_search_follows_what_is_pasted_or_cleared_not_only_keys(page, live_server):
    lead_with_conversation()
    other = LeadFactory(phone="+905321112233", name="Mehmet Demir")
    InboundMessageFactory(lead=other, body="Selam", created_at=timezone.now())
    lead_activity_refresh(lead=other)
    page.goto(f"{live_server.url}/inbox/")
    rows = page.locator("#inbox-list li.conversation")
    expect(rows).to_have_count(2)
    page.fill("#q", "yilmaz")  # an input event and no key, as a paste, autofill or a phone's keyboard gives
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ayşe Yılmaz")
    page.fill("#q", "")  # as the search box's own clear button does
    expect(rows).to_have_count(2)


def test_inbox_updates_without_reload(page, live_server):
    lead_with_conversation()
    page.goto(f"{live_server.url}/inbox/")
    page.wait_for_selector("body[data-live=open]")
    post_webhook(live_server, whatsapp_text(sender="+905334445566", body="Yeni biri yazdı", profile_name="Deniz"))
    page.wait_for_selector("#inbox-list >> text=Yeni biri yazdı", timeout=5000)
    rows = page.locator("#inbox-list li.conversation").all_inner_texts()
    assert "Deniz" in rows[0] and "Ayşe Yılmaz" in rows[1]
    toast = page.locator(".toast")
    assert toast.inner_text().startswith("Deniz: Yeni biri yazdı")
    assert "/inbox/" in toast.locator("a").get_attribute("href")
    page.wait_for_function("document.title.startsWith('(2)')")  # Ayşe's unread one and Deniz's


def test_closed_window_offers_templates_and_an_image_can_be_sent(page, live_server, tmp_path):
    closed = LeadFactory(phone="+905321112233", name="Kapalı Pencere")
    TemplateFactory(name="randevu", content="Merhaba {{1}}")
    page.goto(f"{live_server.url}/inbox/{closed.pk}/")
    assert page.is_disabled("#composer textarea[name=body]")
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
        tab.wait_for_selector("body[data-live=open]")
    post_webhook(live_server, whatsapp_text(sender="+905334445566", body="İki sekme", profile_name="Deniz"))
    for tab in tabs:
        tab.wait_for_selector("#inbox-list >> text=İki sekme", timeout=5000)
    page.wait_for_timeout(500)
    assert page.evaluate("localStorage.getItem('beeps')") == "1"


def open_conversation(page, live_server, lead):
    page.goto(f"{live_server.url}/inbox/{lead.pk}/")
    page.wait_for_selector("body[data-live=open]")  # the stream is open: nothing announced from now on is missed


def test_a_refused_file_is_shown_cleared_and_the_next_text_sends(page, live_server, tmp_path):
    lead = lead_with_conversation()
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ" + b"\0" * 200)
    open_conversation(page, live_server, lead)
    page.set_input_files("#composer input[type=file]", str(program))
    page.wait_for_selector("#attachment >> text=setup.exe")
    page.click("#composer button.primary")
    expect(page.locator("#composer-error")).not_to_have_text("")
    assert page.is_hidden("#attachment")
    assert page.evaluate("document.querySelector('#composer input[type=file]').files.length") == 0
    page.fill("#composer textarea[name=body]", "Dosyasız mesaj")
    page.press("#composer textarea[name=body]", "Enter")
    page.wait_for_selector(".bubble.ours >> text=Dosyasız mesaj")
    assert page.inner_text("#composer-error") == ""

    image = tmp_path / "salon.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 200)
    page.set_input_files("#composer input[type=file]", str(image))
    page.wait_for_selector("#attachment >> text=salon.png")
    page.click("#attachment-remove")
    assert page.is_hidden("#attachment")
    page.fill("#composer textarea[name=body]", "Yine yalnız yazı")
    page.press("#composer textarea[name=body]", "Enter")
    page.wait_for_selector(".bubble.ours >> text=Yine yalnız yazı")
    sent = Message.objects.filter(lead=lead, is_from_lead=False)
    assert sorted(sent.values_list("body", flat=True)) == ["Dosyasız mesaj", "Yine yalnız yazı"]
    assert not sent.exclude(media_content_type="").exists()


def test_template_values_one_preview_replaced_and_the_composer_resets(page, live_server):
    lead = lead_with_conversation()
    TemplateFactory(name="kod", content="Merhaba {{1}}, kodunuz {{4}}, salonunuz {{5}}.")
    TemplateFactory(name="kisa", content="Kısa not {{1}}")
    open_conversation(page, live_server, lead)
    page.click("details.templates summary")
    page.select_option("select[name=template]", label="kisa")
    page.wait_for_selector("#template-preview >> text=Kısa not Ayşe Yılmaz")
    assert page.locator("input[name^=param]").count() == 0  # no value boxes: {{1}} comes from the lead
    page.select_option("select[name=template]", label="kod")
    page.wait_for_selector("#template-preview >> text=kodunuz {{4}}")
    page.type("input[name=param-4]", "K-12", delay=350)  # a request per keystroke
    page.type("input[name=param-5]", "Mavi", delay=350)
    page.wait_for_selector("#template-preview >> text=Merhaba Ayşe Yılmaz, kodunuz K-12, salonunuz Mavi.")
    page.wait_for_timeout(500)
    assert page.locator("#template-preview >> text=Merhaba").count() == 1
    assert page.locator("#template-preview >> text=Kısa not").count() == 0
    page.click("button[name=send-template]")
    page.wait_for_selector(".bubble.ours >> text=Merhaba Ayşe Yılmaz, kodunuz K-12, salonunuz Mavi.")
    assert page.input_value("select[name=template]") == ""
    assert page.locator("input[name^=param]").count() == 0
    assert page.inner_text("#template-preview").strip() == ""


def test_the_open_conversation_follows_the_window_opt_out_and_the_name(page, live_server):
    lead = LeadFactory(phone="+905551234567", name="Ayşe Yılmaz")
    InboundMessageFactory(lead=lead, body="Dün yazmıştım", created_at=timezone.now() - datetime.timedelta(hours=25))
    lead_activity_refresh(lead=lead)
    open_conversation(page, live_server, lead)
    assert page.is_disabled("#composer textarea[name=body]") and page.is_visible("#window-closed")

    post_webhook(live_server, whatsapp_text(body="Yine ben"))  # the window opens again
    page.wait_for_selector("#composer textarea[name=body]:enabled", timeout=5000)
    assert page.is_hidden("#window-closed")
    page.fill("#composer textarea[name=body]", "Yarım kalan cevap")

    post_webhook(live_server, whatsapp_text(body="STOP"))
    page.wait_for_selector("#opted-out", timeout=5000)
    assert page.is_hidden("#composer textarea[name=body]") and page.is_hidden("select[name=template]")
    post_webhook(live_server, whatsapp_text(body="START"))
    page.wait_for_selector("#opted-out", state="detached", timeout=5000)
    assert page.is_enabled("#composer textarea[name=body]")
    assert page.input_value("#composer textarea[name=body]") == "Yarım kalan cevap"  # what the agent typed is kept

    colleague = page.context.new_page()  # a rename elsewhere shows here too
    colleague.goto(f"{live_server.url}/inbox/{lead.pk}/")
    colleague.fill("#lead-panel input[name=name]", "Ayşe Demir")
    colleague.click("#lead-panel button[type=submit]")
    colleague.wait_for_selector("#conversation-head h1 >> text=Ayşe Demir")
    page.wait_for_selector("#conversation-head h1 >> text=Ayşe Demir", timeout=5000)
    expect(page).to_have_title(re.compile("^Ayşe Demir"))
    assert page.input_value("#composer textarea[name=body]") == "Yarım kalan cevap"


def test_the_window_closes_while_the_conversation_is_open(page, live_server):
    lead = LeadFactory(phone="+905551234567")
    almost_a_day = datetime.timedelta(hours=24) - datetime.timedelta(seconds=3)
    InboundMessageFactory(lead=lead, body="Az kaldı", created_at=timezone.now() - almost_a_day)
    lead_activity_refresh(lead=lead)
    open_conversation(page, live_server, lead)
    assert page.is_enabled("#composer textarea[name=body]") and page.is_hidden("#window-closed")
    page.wait_for_selector("#composer textarea[name=body]:disabled", timeout=8000)
    assert page.is_visible("#window-closed")


def test_a_reply_moves_the_conversation_in_every_inbox(page, live_server, django_user_model):
    older = LeadFactory(phone="+905321112233", name="Eski Sohbet")
    InboundMessageFactory(lead=older, body="Üç saat önce", created_at=timezone.now() - datetime.timedelta(hours=3))
    lead_activity_refresh(lead=older)
    newer = LeadFactory(phone="+905551234567", name="Yeni Sohbet")
    InboundMessageFactory(lead=newer, body="Bir saat önce", created_at=timezone.now() - datetime.timedelta(hours=1))
    lead_activity_refresh(lead=newer)
    page.goto(f"{live_server.url}/inbox/")
    page.wait_for_selector("body[data-live=open]")
    assert "Yeni Sohbet" in page.locator("#inbox-list li.conversation").first.inner_text()

    thread = page.context.new_page()
    open_conversation(thread, live_server, older)
    colleague = django_user_model.objects.create_user(username="colleague")
    reply = message_send(lead=older, body="Size hemen dönüyoruz", sender=colleague)
    thread.wait_for_selector(f"#message-{reply.pk} >> text=Size hemen dönüyoruz", timeout=5000)

    page.wait_for_selector("#inbox-list li.conversation >> nth=0 >> text=Size hemen dönüyoruz", timeout=5000)
    first = page.locator("#inbox-list li.conversation").first
    assert "Eski Sohbet" in first.inner_text() and "You: Size hemen dönüyoruz" in first.inner_text()
    assert first.locator("time").inner_text() == timezone.localtime(reply.created_at).strftime("%H:%M")
    older.refresh_from_db()
    assert older.last_message_at == reply.created_at


def test_day_separators_and_full_times_as_pages_load_and_messages_arrive(page, live_server):
    lead = LeadFactory(phone="+905551234567")
    now = timezone.localtime()
    three_days_ago = (now - datetime.timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = (now - datetime.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    for n in range(5):
        InboundMessageFactory(lead=lead, body=f"eski {n}", created_at=three_days_ago + datetime.timedelta(minutes=n))
    InboundMessageFactory(lead=lead, body="dün yazdım", created_at=yesterday)
    for n in range(30):
        InboundMessageFactory(lead=lead, body=f"bugün {n}", created_at=now - datetime.timedelta(seconds=30 - n))
    lead_activity_refresh(lead=lead)
    open_conversation(page, live_server, lead)
    assert page.locator("#thread li.day").all_inner_texts() == ["Today"]

    for _ in range(3):
        page.evaluate("document.getElementById('thread').scrollTop = 0")
        page.wait_for_timeout(400)
    page.wait_for_selector("text=eski 0", timeout=5000)
    days = page.locator("#thread li.day").all_inner_texts()
    assert days[1:] == ["Yesterday", "Today"] and len(days) == 3
    assert str(three_days_ago.day) in days[0] and three_days_ago.strftime("%B") in days[0]
    assert page.locator("#thread > li").first.get_attribute("class") == "day"  # before its day's first message

    dun = Message.objects.get(body="dün yazdım")
    title = page.get_attribute(f"#message-{dun.pk} time", "title")
    assert str(yesterday.year) in title and "12:00" in title and yesterday.strftime("%b") in title

    post_webhook(live_server, whatsapp_text(body="canlı mesaj"))
    page.wait_for_selector("text=canlı mesaj", timeout=5000)
    assert page.locator("#thread li.day").all_inner_texts()[1:] == ["Yesterday", "Today"]
    assert page.locator("#thread > li").last.inner_text().startswith("canlı mesaj")


def test_the_composer_counts_characters_against_the_limit(page, live_server):
    lead = lead_with_conversation()
    open_conversation(page, live_server, lead)
    assert page.get_attribute("#composer textarea[name=body]", "data-max-length") == "1600"
    page.fill("#composer textarea[name=body]", "Merhaba Ayşe")
    assert page.inner_text("#body-counter") == "12 / 1600"
    assert "over" not in (page.get_attribute("#body-counter", "class") or "")
    page.fill("#composer textarea[name=body]", "ş" * 1601)
    assert page.inner_text("#body-counter").startswith("1601 / 1600")
    assert "over" in page.get_attribute("#body-counter", "class")
    assert page.get_attribute("#composer textarea[name=body]", "aria-invalid") == "true"


def test_a_lead_without_a_phone_says_so_and_gets_one_in_the_panel(page, live_server):
    lead = LeadFactory(phone=None, name="Telefonsuz")
    TemplateFactory(name="randevu", content="Merhaba {{1}}")
    open_conversation(page, live_server, lead)
    assert "no phone number" in page.inner_text("#no-phone")
    assert page.locator("#window-closed").count() == 0 or page.is_hidden("#window-closed")
    assert page.is_hidden("#composer textarea[name=body]") and page.is_hidden("select[name=template]")

    page.fill("#lead-panel input[name=phone]", "+905559876543")
    page.click("#lead-panel button[type=submit]")
    page.wait_for_selector("#lead-panel >> text=Saved.")
    page.wait_for_selector("#no-phone", state="detached", timeout=5000)
    assert "+90 555 987 65 43" in page.inner_text("#conversation-head")
    assert page.is_visible("#window-closed")  # never wrote: templates only
    page.select_option("select[name=template]", label="randevu")
    page.click("button[name=send-template]")
    page.wait_for_selector(".bubble.ours >> text=Merhaba Telefonsuz")
    assert Message.objects.get(lead=lead).body == "Merhaba Telefonsuz"


def test_phone_layout_favicon_focus_and_the_sms_notice(page, live_server):
    old = LeadFactory(phone="+905334445566", name="Ayşe Yılmaz")
    InboundMessageFactory(lead=old, body="Geçen ay", created_at=timezone.now() - datetime.timedelta(days=40))
    lead_activity_refresh(lead=old)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/inbox/")
    line = page.evaluate("document.querySelector('.topbar .brand').getBoundingClientRect().height")
    assert page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height") < 2 * line + 20
    assert page.evaluate(
        f"(() => {{ const who = document.querySelector('#lead-{old.pk} .who strong');"
        " return who.getBoundingClientRect().right <= who.parentElement.getBoundingClientRect().right; })()"
    ), "the name is cut"

    favicon = page.request.get(f"{live_server.url}/favicon.ico")
    assert favicon.ok and favicon.headers["content-type"].startswith("image/")
    icon = page.get_attribute("link[rel=icon]", "href")
    assert page.request.get(f"{live_server.url}{icon}").ok

    page.set_viewport_size({"width": 1200, "height": 800})
    lead = lead_with_conversation()
    page.goto(f"{live_server.url}/inbox/{lead.pk}/")
    assert page.evaluate("document.activeElement.name") == "body"
    assert page.locator("#sms-notice").count() == 0

    by_sms = LeadFactory(phone="+905321112233")
    InboundMessageFactory(lead=by_sms, channel="sms", body="SMS ile yazdım", created_at=timezone.now())
    lead_activity_refresh(lead=by_sms)
    page.goto(f"{live_server.url}/inbox/{by_sms.pk}/")
    assert "SMS" in page.inner_text("#sms-notice")
    assert page.evaluate("document.activeElement.name") == "body"
