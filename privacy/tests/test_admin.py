import pytest
from django.urls import reverse

from leads.models import Lead
from messaging.models import Message
from privacy.models import ErasureJob, ErasureReceipt, PendingFileDeletion

from .factories import full_lead

pytestmark = pytest.mark.django_db

PHONE = "+905551234567"


def delete_url(lead):
    return reverse("admin:leads_lead_delete", args=[lead.pk])


def test_a_superuser_erases_a_lead_with_messages_after_a_confirmation_listing_what_goes(
    staff_client, django_capture_on_commit_callbacks
):
    lead, _, _ = full_lead(PHONE)
    page = staff_client.get(delete_url(lead))
    assert page.status_code == 200, "the read-only message admin no longer blocks the delete"
    text = page.content.decode()
    expected = [
        "messages: 2",
        "attachments: 1",
        "raw webhook events: 3",
        "provider log entries: 2",
        "notification events: 1",
        "campaign recipients: 1",
        "messages and their media at the provider: 2",
    ]
    assert [line for line in expected if line not in text] == []

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(delete_url(lead), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Lead.objects.filter(pk=lead.pk).exists() and not Message.objects.exists()
    receipt = ErasureReceipt.objects.get()
    assert "Erased." in response.content.decode()
    page = staff_client.get(reverse("admin:privacy_erasurereceipt_change", args=[receipt.pk]))
    assert page.status_code == 200 and PHONE not in page.content.decode()
    assert b"Ay\xc5\x9fe" not in page.content


def test_deleting_needs_the_erase_permission(operator_client, user_in_role, client):
    from django.contrib.auth.models import Permission

    lead, _, _ = full_lead(PHONE)
    assert operator_client.get(delete_url(lead)).status_code == 403
    operator = Lead._meta.apps.get_model("auth", "User").objects.get(username="operator")
    operator.user_permissions.add(Permission.objects.get(codename="erase_lead"))
    assert operator_client.get(delete_url(lead)).status_code == 200


def test_the_bulk_delete_erases_in_the_background_with_its_progress(staff_client, django_capture_on_commit_callbacks):
    first, _, _ = full_lead(PHONE)
    second, _, _ = full_lead("+905557654321", name="Mehmet Demir")
    data = {"action": "delete_selected", "_selected_action": [str(first.pk), str(second.pk)]}
    confirmation = staff_client.post(reverse("admin:leads_lead_changelist"), data)
    assert confirmation.status_code == 200
    assert "Messages: 4" in confirmation.content.decode()  # the summary: the totals of both

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:leads_lead_changelist"), {**data, "post": "yes"}, follow=True)
    assert "Erasing 2 leads in the background." in response.content.decode()
    job = ErasureJob.objects.get()
    assert (job.status, job.total, job.done, job.failed) == ("done", 2, 2, 0)
    assert not Lead.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert ErasureReceipt.objects.count() == 2
    listing = staff_client.get(reverse("admin:privacy_erasurejob_changelist")).content.decode()
    assert "2 / 2" in listing


def test_receipts_and_waiting_files_are_read_only(staff_client, django_capture_on_commit_callbacks):
    lead, _, _ = full_lead(PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(delete_url(lead), {"post": "yes"})
    receipt = ErasureReceipt.objects.get()
    PendingFileDeletion.objects.create(receipt=receipt, name="messages/x.jpg", last_error="OSError")
    assert staff_client.get(reverse("admin:privacy_pendingfiledeletion_changelist")).status_code == 200
    assert b"messages/x.jpg" in staff_client.get(reverse("admin:privacy_pendingfiledeletion_changelist")).content
    assert staff_client.get(reverse("admin:privacy_erasurereceipt_add")).status_code == 403
    assert staff_client.get(reverse("admin:privacy_erasurereceipt_delete", args=[receipt.pk])).status_code == 403
