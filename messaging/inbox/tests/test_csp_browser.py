"""The pages under the site's CSP in Debian's chromium: nothing is blocked, and a lead's SVG runs nothing."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import logged_in_page
from leads.tests.factories import LeadFactory
from messaging.models import MessageMedia
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = BROWSER_MARKS
PASSWORD = "csp-browser-password"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>document.title = "ran"</script></svg>'
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def admin_page(browser, live_server, django_user_model):
    boss = django_user_model.objects.create_user(username="boss", password=PASSWORD, is_staff=True, is_superuser=True)
    with logged_in_page(browser, live_server, boss, PASSWORD, viewport={"width": 1200, "height": 800}) as page:
        yield page


def attach(message, position, content, content_type):
    media = MessageMedia(message=message, position=position, content_type=content_type, status="stored")
    media.file.save("file", ContentFile(content), save=False)
    media.save()
    return media


def test_inbox_conversation_and_admin_show_no_csp_violation(admin_page, live_server):
    page = admin_page
    lead = LeadFactory(phone="+905551234567", name="Ayşe Yılmaz")
    message = InboundMessageFactory(lead=lead, body="Fotoğraf ve logo", created_at=timezone.now())
    attach(message, 0, PNG, "image/png")
    svg = attach(message, 1, SVG, "image/svg+xml")  # as a row stored before sniffing would have it
    lead.last_inbound_at = timezone.now() - datetime.timedelta(minutes=5)
    lead.save()
    lead_activity_refresh(lead=lead)
    template = TemplateFactory()

    pages = [
        "/inbox/",
        f"/inbox/{lead.pk}/",
        "/admin/",
        "/admin/leads/lead/",
        f"/admin/leads/lead/{lead.pk}/change/",
        "/admin/messaging/message/",
        "/admin/templates_app/template/",
        f"/admin/templates_app/template/{template.pk}/change/",
    ]
    for path in pages:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if path == f"/inbox/{lead.pk}/":
            page.wait_for_selector(f'img[src="{message.media.get(position=0).get_absolute_url()}"]')
            assert page.evaluate("document.querySelector('.bubble img').naturalWidth") == 1
            assert page.locator(f'a[download][href="{svg.get_absolute_url()}"]').count() == 1
            page.fill("#composer textarea[name=body]", "Merhaba")  # the composer works under the policy
            page.press("#composer textarea[name=body]", "Enter")
            page.wait_for_selector(".bubble.ours >> text=Merhaba")
        assert page.violations == [], (path, page.violations)

    # Opened directly, the lead's SVG is a download in a sandbox: its script never runs in our origin.
    with page.expect_download() as download:
        page.evaluate(f"window.location.href = '{svg.get_absolute_url()}'")
    assert download.value.suggested_filename.startswith("attachment-")
    assert page.title() != "ran"
