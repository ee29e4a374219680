"""A lead's DELETE through the API is its erasure: the receipt answered, the rows gone, privacy.erase_lead needed."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.roles import OPERATORS
from accounts.services import api_token_create, api_token_revoke
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.backends import locmem
from messaging.models import Message, MessageMedia, WebhookEvent
from privacy.models import ErasureReceipt
from privacy.selectors import KINDS

from .factories import full_lead, others

pytestmark = pytest.mark.django_db

PHONE = "+905551234567"


def lead_url(pk) -> str:
    return reverse("api:v1:lead-detail", args=[pk])


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture(autouse=True)
def _provider_deletions():
    locmem.deleted.clear()
    yield
    locmem.deleted.clear()


@pytest.fixture
def eraser(django_user_model):
    user = django_user_model.objects.create_user(username="dpo")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="privacy", codename="erase_lead"))
    return user


@pytest.mark.django_db(transaction=True)
def test_delete_erases_everything_and_answers_with_the_receipt(client, eraser):
    """Transactional: the provider's deletions run once the erasure commits, before the answer, as in production."""
    lead, messages, media = full_lead(PHONE)
    near, _near_media, _kept = others(PHONE)
    _, secret = api_token_create(user=eraser, name="dpo tool")

    response = client.delete(lead_url(lead.pk), **bearer(secret))

    assert response.status_code == 200, response.content
    receipt = ErasureReceipt.objects.get()
    data = response.json()
    assert data == {
        "id": receipt.pk,
        "erased_at": data["erased_at"],
        "erased_by_name": "dpo",
        "via": "api",
        "counts": {
            "leads": 1, "messages": 2, "attachments": 1, "files": 1, "webhook_events": 3, "provider_logs": 2,
            "notification_events": 1, "campaign_recipients": 1, "conversations": 1, "notes": 1, "webhook_deliveries": 0,
        "admin_history": 1,
            "provider_messages": 2,
        },
        "provider_outcome": {"deleted": 2},
    }  # fmt: skip
    assert set(data["counts"]) == set(KINDS)
    assert (receipt.via, receipt.erased_by) == (ErasureReceipt.Via.API, eraser)
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert not Message.objects.filter(lead_id=lead.pk).exists()
    assert not MessageMedia.objects.filter(pk=media.pk).exists()
    assert not WebhookEvent.objects.filter(sender=PHONE).exists()
    assert sorted(locmem.deleted) == sorted(m.twilio_message_sid for m in messages)
    assert Lead.objects.filter(pk=near.pk).exists(), "the lead sharing the last 10 digits is someone else"

    again = client.delete(lead_url(lead.pk), **bearer(secret))
    assert (again.status_code, again.json()["error"]["code"]) == (404, "not_found")
    assert ErasureReceipt.objects.count() == 1


def test_a_lead_gone_meanwhile_is_404(client, eraser, monkeypatch):
    from privacy import api

    lead = LeadFactory(phone=PHONE)
    _, secret = api_token_create(user=eraser, name="x")
    fetched = api.LeadViewSet.get_object

    def erased_meanwhile(view):
        found = fetched(view)
        Lead.objects.filter(pk=found.pk).delete()  # another request's erasure, between the read and the lock
        return found

    monkeypatch.setattr(api.LeadViewSet, "get_object", erased_meanwhile)
    response = client.delete(lead_url(lead.pk), **bearer(secret))
    assert (response.status_code, response.json()["error"]["message"]) == (404, "This lead was already erased.")
    assert not ErasureReceipt.objects.exists()


def test_a_malformed_or_unknown_id_is_404(client, eraser):
    _, secret = api_token_create(user=eraser, name="x")
    assert client.delete(reverse("api:v1:lead-list") + "/not-a-uuid", **bearer(secret)).status_code == 404
    assert client.delete(lead_url("0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21"), **bearer(secret)).status_code == 404


def test_erasing_needs_the_erase_permission(client, django_user_model, user_in_role, eraser):
    lead = LeadFactory(phone=PHONE)
    url = lead_url(lead.pk)
    anonymous = client.delete(url)
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Bearer")
    operator = user_in_role("operator", OPERATORS, is_staff=True)  # the admin's everyday work, not erasure
    staff = django_user_model.objects.create_user(username="staff", is_staff=True)
    for user in (operator, staff):
        response = client.delete(url, **bearer(api_token_create(user=user, name="x")[1]))
        assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")

    revoked, revoked_secret = api_token_create(user=eraser, name="old")
    api_token_revoke(token=revoked)
    assert client.delete(url, **bearer(revoked_secret)).status_code == 401
    _, secret = api_token_create(user=eraser, name="x")
    eraser.is_active = False
    eraser.save()
    assert client.delete(url, **bearer(secret)).status_code == 401
    assert Lead.objects.filter(pk=lead.pk).exists() and not ErasureReceipt.objects.exists()


def test_the_erasers_token_reads_nothing_more(client, eraser):
    """privacy.erase_lead is the delete only: listing leads still needs leads.view_lead."""
    _, secret = api_token_create(user=eraser, name="x")
    assert client.get(reverse("api:v1:lead-list"), **bearer(secret)).status_code == 403


def test_a_lead_without_a_phone_is_erased_and_no_one_elses_events_go(
    client, eraser, django_capture_on_commit_callbacks
):
    from messaging.tests.factories import InboundMessageFactory

    from .factories import event

    lead = LeadFactory(phone=None)
    message = InboundMessageFactory(lead=lead)
    event(sid=message.twilio_message_sid)
    kept = event(sid="SMsomeoneelse")  # no sender, no recipient: as the lead's blank number would match
    _, secret = api_token_create(user=eraser, name="x")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(lead_url(lead.pk), **bearer(secret))
    assert response.status_code == 200, response.content
    assert (response.json()["counts"]["messages"], response.json()["counts"]["webhook_events"]) == (1, 1)
    assert ErasureReceipt.objects.get().phone_hmac == ""
    assert WebhookEvent.objects.filter(pk=kept.pk).exists() and not Lead.objects.filter(pk=lead.pk).exists()
