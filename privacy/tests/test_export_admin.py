import io
import json
import zipfile

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.urls import reverse

from leads.tests.factories import LeadFactory
from messaging.tests.factories import InboundMessageFactory
from privacy.admin import EXPORT_MAX_LEADS
from privacy.tests.test_export import attach

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:leads_lead_changelist")


def export(client, leads):
    return client.post(CHANGELIST, {"action": "export_data", "_selected_action": [str(lead.pk) for lead in leads]})


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_lead_list_offers_the_export_beside_the_other_actions(staff_client):
    LeadFactory()
    page = staff_client.get(CHANGELIST).content.decode()
    assert 'value="export_data"' in page and "Export data (ZIP)" in page
    assert 'value="send_campaign"' in page  # campaigns' action is still there


def test_one_lead_downloads_its_zip_and_the_export_is_recorded(staff_client):
    lead = LeadFactory()
    InboundMessageFactory(lead=lead, body="Merhaba")
    response = export(staff_client, [lead])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="lead-{lead.pk}.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(content(response)))
    assert [m["body"] for m in json.loads(archive.read("messages.json"))] == ["Merhaba"]
    entry = LogEntry.objects.get(object_id=str(lead.pk))
    assert entry.user.username == "staff"
    assert "1 messages" in entry.change_message


def test_several_leads_download_one_zip_per_lead(staff_client):
    leads = LeadFactory.create_batch(3)
    response = export(staff_client, leads)
    outer = zipfile.ZipFile(io.BytesIO(content(response)))
    assert sorted(outer.namelist()) == sorted(f"lead-{lead.pk}.zip" for lead in leads)
    assert LogEntry.objects.count() == 3


def test_missing_attachment_files_are_said_in_a_message(staff_client):
    message = InboundMessageFactory()
    media = attach(message)
    default_storage.delete(media.file.name)
    response = export(staff_client, [message.lead])
    assert response.status_code == 200
    content(response)
    page = staff_client.get(CHANGELIST).content.decode()
    assert "An attachment file is missing from the export" in page
    assert str(media.pk) in page


def test_too_many_leads_at_once_are_refused_with_a_message(staff_client):
    leads = LeadFactory.create_batch(EXPORT_MAX_LEADS + 1)
    response = export(staff_client, leads)
    assert response.status_code == 302
    page = staff_client.get(CHANGELIST).content.decode()
    assert f"Select at most {EXPORT_MAX_LEADS} leads" in page
    assert not LogEntry.objects.exists()


def test_staff_who_cannot_read_conversations_are_not_offered_the_export(client, django_user_model):
    user = django_user_model.objects.create_user(username="clerk", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_lead", "change_lead"]))
    client.force_login(user)
    lead = LeadFactory()
    page = client.get(CHANGELIST).content.decode()
    assert str(lead.pk) in page and "export_data" not in page
    response = export(client, [lead])
    assert response.status_code == 200 and response.get("Content-Type", "").startswith("text/html")
    assert not LogEntry.objects.exists()
