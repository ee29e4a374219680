import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.services.outbound import SendRefused, message_send_template
from templates_app.rendering import template_preview
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

CONTENT = "Merhaba {{1}}, {{2}} saat {{3}} için yeriniz hazır. Kod: {{4}}. Görüşmek üzere {{1}}!"


def test_preview_fills_what_the_lead_has_and_flags_the_rest(settings):
    settings.LANGUAGE_CODE = "tr"
    lead = LeadFactory(name="Ayşe", event_date=datetime.date(2026, 12, 5), event_time=None)
    preview = template_preview(template=TemplateFactory(content=CONTENT), lead=lead, extra=["A-42"])
    assert preview["text"] == "Merhaba Ayşe, 05.12.2026 saat {{3}} için yeriniz hazır. Kod: A-42. Görüşmek üzere Ayşe!"
    assert preview["missing"] == [{"placeholder": "{{3}}", "meaning": "etkinlik saati"}]


def test_preview_endpoint(staff_client):
    lead = LeadFactory(name="Can", event_date=datetime.date(2026, 12, 5), event_time=datetime.time(19, 30))
    template = TemplateFactory(content=CONTENT)
    url = reverse("api:template-preview", args=[template.pk])
    data = staff_client.get(url, {"lead": str(lead.pk), "param": "B-7"}).json()
    assert data["text"].startswith("Merhaba Can, 12/05/2026 saat 7:30 p.m.")
    assert data["missing"] == []
    missing = staff_client.get(url, {"lead": str(lead.pk)}).json()
    assert missing["missing"][0]["placeholder"] == "{{4}}"
    assert staff_client.get(url).status_code == 400
    assert staff_client.get(url, {"lead": "nope"}).status_code == 400


def test_admin_change_page_shows_the_preview_and_badge(staff_client):
    LeadFactory(name="Zeynep", last_message_at=timezone.now())
    template = TemplateFactory(content="Merhaba {{1}}", approval_status="rejected", rejection_reason="Spam gibi")
    page = staff_client.get(reverse("admin:templates_app_template_change", args=[template.pk])).content.decode()
    assert "Merhaba Zeynep" in page
    listing = staff_client.get(reverse("admin:templates_app_template_changelist")).content.decode()
    assert "Rejected" in listing and "Spam gibi" in listing


def test_a_local_template_says_why_it_cannot_go_over_whatsapp_outside_the_window():
    lead = LeadFactory()
    local = TemplateFactory(content_sid=None, approval_status="unsubmitted", content="Merhaba {{1}}")
    with pytest.raises(SendRefused, match="no WhatsApp content SID"):
        message_send_template(lead=lead, template=local, channel="whatsapp")
    assert message_send_template(lead=lead, template=local, channel="sms").body == f"Merhaba {lead.name}"
