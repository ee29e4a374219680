"""Every payload a lead's app sends, as its bubble shows it in a real browser (Debian's chromium): an ad's first
message, a list's item and a button chosen, a quoted reply (its link loads older pages until the quoted message is
there), a location, a shared contact and a sticker; a hostile sender's text stays text."""

import base64
import datetime
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import AGENTS
from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import logged_in_page
from leads.tests.factories import LeadFactory
from messaging.models import MessageMedia
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory

pytestmark = BROWSER_MARKS
PASSWORD = "browser-test-password"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
TALL_DESKTOP = {"width": 1400, "height": 1240}
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"
VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Mert Demir\r\nTEL;waid=905551110002:+90 555 111 00 02\r\nEND:VCARD\r\n"
# A sticker drawn by the browser itself (WebP, as WhatsApp sends them): no image file is kept in the repository.
DRAW_STICKER = """() => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 256;
  const pen = canvas.getContext("2d");
  pen.fillStyle = "#ffcc4d"; pen.beginPath(); pen.arc(128, 128, 112, 0, Math.PI * 2); pen.fill();
  pen.fillStyle = "#664500";
  pen.beginPath(); pen.arc(88, 100, 16, 0, Math.PI * 2); pen.arc(168, 100, 16, 0, Math.PI * 2); pen.fill();
  pen.lineWidth = 14; pen.strokeStyle = "#664500";
  pen.beginPath(); pen.arc(128, 140, 60, 0.15 * Math.PI, 0.85 * Math.PI); pen.stroke();
  return canvas.toDataURL("image/webp").split(",")[1];
}"""


@pytest.fixture
def agent(user_in_role):
    return user_in_role("ayse", AGENTS, first_name="Ayşe", password=PASSWORD)


def a_rich_conversation(sticker_webp: bytes):
    """Elif came from an ad; the newest page holds one bubble of each kind, the quoted offer lies a page up."""
    lead = LeadFactory(name="Elif Kaya", phone="+905551110001")
    start = timezone.now() - datetime.timedelta(hours=3)

    def at(minutes: int):
        return start + datetime.timedelta(minutes=minutes)

    hostile = InboundMessageFactory(
        lead=lead,
        body="",
        created_at=at(0),
        content={
            "location": {"latitude": 41.0, "longitude": 29.0, "label": HOSTILE},
            "referral": {"headline": HOSTILE, "body": HOSTILE, "source_url": "javascript:alert(3)"},
        },
    )
    offer = MessageFactory(lead=lead, body="Cumartesi 120 kişilik salonumuz boş; kişi başı 850 TL.", created_at=at(1))
    for n in range(35):
        InboundMessageFactory(lead=lead, body=f"Menü sorusu {n + 1}", created_at=at(2 + n))
    InboundMessageFactory(
        lead=lead,
        body="Merhaba, bu ilan hakkında bilgi alabilir miyim?",
        created_at=at(60),
        content={
            "referral": {
                "headline": "Düğün paketi %20 indirimli",
                "body": "Haziran düğünlerine özel fiyatlar",
                "source_url": "https://fb.me/3bXyZ",
                "source_type": "ad",
                "source_id": "120210000000000001",
            }
        },
    )
    MessageFactory(lead=lead, body="Merhaba Elif Hanım! Hangi günü düşünüyorsunuz?", created_at=at(61))
    InboundMessageFactory(
        lead=lead,
        body="Cumartesi 19:00",
        created_at=at(62),
        content={"choice": {"kind": "list", "title": "Cumartesi 19:00", "id": "slot-sat-19"}},
    )
    InboundMessageFactory(
        lead=lead,
        body="Evet, katılıyorum",
        created_at=at(63),
        content={"choice": {"kind": "button", "title": "Evet, katılıyorum", "id": "CONFIRM_YES"}},
    )
    reply = InboundMessageFactory(
        lead=lead,
        body="Bu teklif hâlâ geçerli mi?",
        created_at=at(64),
        content={"quoted_sid": offer.twilio_message_sid},
    )
    InboundMessageFactory(
        lead=lead,
        body="",
        created_at=at(65),
        content={
            "location": {
                "latitude": 41.0438,
                "longitude": 29.0094,
                "label": "Düğün Salonu",
                "address": "Çırağan Cd. 32, Beşiktaş, İstanbul",
            }
        },
    )
    card = InboundMessageFactory(lead=lead, body="", created_at=at(66))
    media = MessageMedia(
        message=card,
        position=0,
        content_type="text/vcard",
        status="stored",
        size=len(VCARD),
        contacts=[{"name": "Mert Demir", "phones": ["+90 555 111 00 02"]}],
    )
    media.file.save("contact.vcf", ContentFile(VCARD))
    sticker = InboundMessageFactory(lead=lead, body="", created_at=at(67))
    media = MessageMedia(
        message=sticker, position=0, content_type="image/webp", status="stored", size=len(sticker_webp)
    )
    media.file.save("sticker.webp", ContentFile(sticker_webp))
    lead_activity_refresh(lead=lead)
    return lead, hostile, offer, reply, sticker


def test_each_payload_has_its_bubble_and_a_quote_leads_to_the_quoted_message(browser, live_server, agent):
    with logged_in_page(browser, live_server, agent, PASSWORD, viewport=TALL_DESKTOP) as page:
        alerts = []
        page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        lead, hostile, offer, reply, sticker = a_rich_conversation(base64.b64decode(page.evaluate(DRAW_STICKER)))
        page.goto(f"{live_server.url}/inbox/{lead.pk}/")
        thread = page.locator("#conversation #thread")
        expect(thread.locator(".referral")).to_contain_text("Düğün paketi %20 indirimli")
        expect(thread.locator(".referral a[href='https://fb.me/3bXyZ']")).to_be_visible()
        expect(thread.locator(".choice").first).to_contain_text("Chose from the list")
        expect(thread.locator(".choice").nth(1)).to_contain_text("Tapped the button")
        expect(thread.locator(".place")).to_contain_text("Çırağan Cd. 32, Beşiktaş, İstanbul")
        expect(thread.locator(".place a")).to_have_attribute(
            "href", "https://www.openstreetmap.org/?mlat=41.043800&mlon=29.009400#map=17/41.043800/29.009400"
        )
        expect(thread.locator(".contact-card")).to_contain_text("Mert Demir")
        expect(thread.locator(".contact-card")).to_contain_text("+90 555 111 00 02")
        sticker_image = page.locator(f"#message-{sticker.pk} img.sticker-image")
        expect(sticker_image).to_be_visible()
        page.wait_for_function("(img) => img.complete && img.naturalWidth === 256", arg=sticker_image.element_handle())
        assert page.locator(f"#message-{sticker.pk}").evaluate("(li) => getComputedStyle(li).backgroundColor") == (
            "rgba(0, 0, 0, 0)"
        )  # no bubble around a sticker
        quote = page.locator(f"#message-{reply.pk} .quote")
        expect(quote).to_contain_text("Cumartesi 120 kişilik salonumuz boş")
        page.screenshot(path=SCREENSHOTS / "rich-bubbles.png")

        expect(page.locator(f"#message-{offer.pk}")).to_have_count(0)  # a page up, not loaded yet
        quote.locator("a").click()
        target = page.locator(f"#message-{offer.pk}")
        expect(target).to_be_in_viewport()
        expect(target).to_have_class(re.compile(r"\bquoted-target\b"))

        evil = page.locator(f"#message-{hostile.pk}")
        expect(evil).to_contain_text(HOSTILE)  # shown as text
        assert evil.locator("script, img, a[href^='javascript']").count() == 0
        assert alerts == [] and not page.violations


def test_an_opt_out_and_an_opt_in_are_explained_in_the_thread_live(browser, live_server, agent):
    from messaging.backends.base import InboundMessage
    from messaging.services.inbound import inbound_message_receive

    def lead_writes(body: str):
        inbound_message_receive(
            message=InboundMessage(sid=f"SM{uuid.uuid4().hex}", sender="+905551110003", channel="whatsapp", body=body),
            provider="twilio",
            received_at=timezone.now(),
        )

    lead = LeadFactory(name="Zeynep Ak", phone="+905551110003")
    lead_writes("Kampanya mesajı almak istemiyorum")
    lead_writes("İPTAL")
    with logged_in_page(browser, live_server, agent, PASSWORD, viewport=TALL_DESKTOP) as page:
        page.goto(f"{live_server.url}/inbox/{lead.pk}/")
        page.wait_for_selector("body[data-live=open]")
        expect(page.locator(".consent-notice.out")).to_have_text("Opted out: “İPTAL” is an opt-out word for WhatsApp.")
        expect(page.locator("#opted-out")).to_contain_text("(“İPTAL” is an opt-out word for WhatsApp)")
        expect(page.locator("#opted-out")).to_contain_text("until they send an opt-in word: START, UNSTOP, YES, BAŞLA")
        expect(page.locator("#composer textarea")).to_be_disabled()
        page.screenshot(path=SCREENSHOTS / "opt-out-notice.png")

        lead_writes("başla")  # the lead opts in again while the agent looks
        expect(page.locator(".consent-notice.in")).to_have_text("Opted in: “başla” is an opt-in word for WhatsApp.")
        expect(page.locator("#opted-out")).to_have_count(0)
        expect(page.locator("#composer textarea")).to_be_enabled()
        assert not page.violations
