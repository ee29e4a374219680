"""The lead list and a lead's page in the admin, in a real browser at a laptop's 1366 x 768."""

import datetime
import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import log_in
from leads.models import Lead, Stage
from leads.tests.factories import LeadFactory
from messaging.models import MessageMedia, MessageStatus
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory

pytestmark = BROWSER_MARKS
PASSWORD = "browser-test-password"
LAPTOP = {"width": 1366, "height": 768}
# Set to a folder (docs/screenshots) to keep the pictures; the test looks at the page either way.
SCREENSHOTS = os.environ.get("HAPPYCRM_SCREENSHOTS")

NAMES = ["Ayşe Yılmaz", "Mehmet Çağlar Demir", "Zeynep Öztürk", "Şükrü Gündoğdu", "İrem Kaya", "Oğuzhan Aksoy",
         "Gülşen Erdoğan-Karaosmanoğlu", "Can Yücel", "Elif Şahin", "Burak Çelik"]  # fmt: skip


@pytest.fixture(params=["en-US"])
def page(request, browser, live_server, django_user_model):
    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    context = browser.new_context(locale=request.param, viewport=LAPTOP)
    page = context.new_page()
    log_in(page, live_server, "admin", PASSWORD)
    yield page
    context.close()


def screenshot(page, name, tmp_path):
    page.screenshot(path=str(Path(SCREENSHOTS) / name if SCREENSHOTS else tmp_path / name), full_page=True)


def pipeline():
    stages = [Stage.objects.get(is_default=True)]
    stages += [Stage.objects.create(name=name, position=n) for n, name in enumerate(["Teklif verildi", "Sözleşme"])]
    now = timezone.now()
    leads = []
    for n, name in enumerate(NAMES):
        lead = LeadFactory(name=name, phone=f"+90555{n:07d}", stage=stages[n % 3], location="Kadıköy, İstanbul",
                           event_date=datetime.date(2027, 6, 1 + n), event_time=datetime.time(19, 30),
                           is_unregistered=n % 4 == 0, first_message_answered=n % 2 == 0)  # fmt: skip
        InboundMessageFactory(lead=lead, body="Düğün için fiyat alabilir miyim?", created_at=now)
        lead_activity_refresh(lead=lead)
        leads.append(lead)
    return leads


@pytest.mark.parametrize("page", ["en-US", "tr-TR"], indirect=True)
def test_the_lead_list_fits_a_laptop_screen(page, live_server, tmp_path):
    pipeline()
    page.goto(f"{live_server.url}/admin/leads/lead/")
    page.wait_for_selector("#result_list")
    if page.evaluate("document.documentElement.lang") == "en":
        screenshot(page, "admin-lead-list.png", tmp_path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"the page is {width} px wide"
    # The list scrolls sideways inside its own box when it is wider than the room beside the menu and filters.
    room, table = page.evaluate("[document.querySelector('.results').clientWidth, "
                                "document.querySelector('#result_list').scrollWidth]")  # fmt: skip
    assert table <= room, f"the list is {table} px wide in {room} px"
    assert page.locator("#result_list tbody tr").count() == len(NAMES)


def test_the_lead_page_shows_its_conversation(page, live_server, tmp_path):
    lead = pipeline()[0]
    Lead.objects.filter(pk=lead.pk).update(opted_out_at=timezone.now())
    start = timezone.now() - datetime.timedelta(hours=2)
    photo = InboundMessageFactory(lead=lead, body="Salonun fotoğrafı", created_at=start)
    jpeg = ContentFile(b"\xff\xd8\xff", name="s.jpg")
    MessageMedia.objects.create(
        message=photo, position=0, content_type="image/jpeg", status=MessageMedia.Status.STORED, file=jpeg
    )
    MessageFactory(lead=lead, body="Merhaba Ayşe Hanım, fiyat listemiz ektedir.", status=MessageStatus.READ,
                   created_at=start + datetime.timedelta(minutes=5))  # fmt: skip
    MessageFactory(lead=lead, body="Hatırlatma: teklifimiz cuma gününe kadar geçerli.", provider="twilio",
                   status=MessageStatus.UNDELIVERED, error_code=30003,
                   created_at=start + datetime.timedelta(minutes=30))  # fmt: skip
    lead_activity_refresh(lead=lead)

    page.goto(f"{live_server.url}/admin/leads/lead/{lead.pk}/change/")
    inline = page.locator("#messages-group")
    inline.wait_for()
    screenshot(page, "admin-lead-page.png", tmp_path)
    assert inline.locator("tbody tr.has_original").count() == 4
    assert "unreachable" in inline.inner_text()
    assert page.locator(f'a[href="/inbox/{lead.pk}/"]').count() == 1
    assert page.locator("input[name=opted_out_at_0], input[name=is_unregistered]").count() == 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"the page is {width} px wide"
