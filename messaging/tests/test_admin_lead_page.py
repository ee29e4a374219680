"""The lead's admin page shows its newest messages (messaging adds them: leads knows nothing of messages)."""

import datetime
import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.admin import LEAD_PAGE_MESSAGES
from messaging.models import MessageMedia, MessageStatus
from messaging.tests.factories import InboundMessageFactory, MessageFactory

pytestmark = pytest.mark.django_db


def change_url(lead):
    return reverse("admin:leads_lead_change", args=[lead.pk])


def conversation(lead, count):
    start = timezone.now() - datetime.timedelta(hours=1)
    return [
        InboundMessageFactory(lead=lead, body=f"mesaj {n:02d}", created_at=start + datetime.timedelta(minutes=n))
        for n in range(count)
    ]


def test_the_newest_messages_are_shown_newest_first_read_only(staff_client):
    lead = LeadFactory()
    conversation(lead, LEAD_PAGE_MESSAGES + 5)
    page = staff_client.get(change_url(lead)).content.decode()
    shown = re.findall(r'field-text">\s*<p>mesaj (\d\d)', page)
    assert shown == [f"{n:02d}" for n in range(LEAD_PAGE_MESSAGES + 4, 4, -1)]
    assert 'name="messages-0-body"' not in page
    assert "Latest messages" in page


def test_status_error_explanation_and_attachments_are_shown(staff_client):
    lead = LeadFactory()
    MessageFactory(lead=lead, status=MessageStatus.UNDELIVERED, error_code=30003, provider="twilio")
    photo = InboundMessageFactory(lead=lead)
    stored = MessageMedia.objects.create(
        message=photo, position=0, content_type="image/png", status=MessageMedia.Status.STORED,
        file=ContentFile(b"\x89PNG", name="p.png"),
    )  # fmt: skip
    MessageMedia.objects.create(message=photo, position=1, content_type="video/mp4", status=MessageMedia.Status.FAILED)
    page = staff_client.get(change_url(lead)).content.decode()
    assert "Undelivered" in page and "unreachable" in page
    assert f'href="{stored.get_absolute_url()}"' in page
    assert "video/mp4: Failed" in page


def test_the_page_reads_the_same_queries_whatever_the_conversation(staff_client, django_assert_num_queries):
    short, long = LeadFactory(), LeadFactory()
    conversation(short, 2)
    for message in conversation(long, 30):
        MessageMedia.objects.create(message=message, position=0, status=MessageMedia.Status.PENDING)
    staff_client.get(change_url(short))  # the session and the content types are cached
    with CaptureQueriesContext(connection) as short_queries:
        staff_client.get(change_url(short))
    with django_assert_num_queries(len(short_queries)):
        staff_client.get(change_url(long))


def test_saving_the_lead_with_its_page_as_posted_saves_only_the_lead(staff_client):
    """The browser posts the shown rows back; a message arriving meanwhile changes nothing and refuses nothing."""
    lead = LeadFactory()
    messages = conversation(lead, LEAD_PAGE_MESSAGES)
    data = {"name": "Yeni", "phone": lead.phone, "stage": lead.stage_id}
    data.update({"messages-TOTAL_FORMS": len(messages), "messages-INITIAL_FORMS": len(messages)})
    for n, message in enumerate(reversed(messages)):
        data.update({f"messages-{n}-id": message.pk, f"messages-{n}-lead": lead.pk})
    InboundMessageFactory(lead=lead, body="yeni mesaj")
    response = staff_client.post(change_url(lead), data)
    assert response.status_code == 302, response.context["errors"]
    lead.refresh_from_db()
    assert lead.name == "Yeni"
    assert lead.messages.count() == LEAD_PAGE_MESSAGES + 1


def test_a_new_lead_has_no_messages_to_show(staff_client):
    page = staff_client.get(reverse("admin:leads_lead_add")).content.decode()
    assert "Latest messages" not in page and "messages-TOTAL_FORMS" not in page
