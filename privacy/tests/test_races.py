"""What arrives for an erased lead after (or while) it is erased leaves nothing behind."""

import pytest
from django.core.files.storage import default_storage

from messaging.backends.twilio.tests.payloads import status_callback, whatsapp_text
from messaging.models import Message, MessageMedia, WebhookEvent
from messaging.services import media as media_service
from messaging.services.media import media_fetch
from messaging.services.webhooks import webhook_events_process
from messaging.tests.media_server import MediaServer
from privacy.services import Requester, lead_erase

from .factories import JPEG, full_lead

pytestmark = pytest.mark.django_db

PHONE = "+905551234567"


def erase(lead, user, capture):
    with capture(execute=True):
        return lead_erase(lead=lead, requester=Requester.admin(user))


def test_a_late_status_callback_for_an_erased_message_is_dropped_unstored(
    admin_user, post_webhook, run_sweep, django_capture_on_commit_callbacks
):
    lead, messages, _ = full_lead(PHONE)
    sid = messages[1].twilio_message_sid
    erase(lead, admin_user, django_capture_on_commit_callbacks)

    response = post_webhook(status_callback(sid=sid, status="read", to=PHONE))
    assert response.status_code == 200
    retried = post_webhook(whatsapp_text(sid=messages[0].twilio_message_sid, sender=PHONE))  # Twilio's retry
    assert retried.status_code == 200 and b"<Response>" in retried.content
    assert not WebhookEvent.objects.filter(message_sid__in=[m.twilio_message_sid for m in messages]).exists()
    assert (
        not WebhookEvent.objects.filter(sender=PHONE).exists()
        and not WebhookEvent.objects.filter(recipient=PHONE).exists()
    )
    assert not Message.objects.exists(), "a retried inbound webhook must not bring the lead back"
    assert run_sweep()["replayed"] == 0


def test_a_callback_stored_while_the_erasure_ran_is_deleted_not_processed(
    admin_user, run_sweep, django_capture_on_commit_callbacks
):
    lead, messages, _ = full_lead(PHONE)
    sid = messages[1].twilio_message_sid
    erase(lead, admin_user, django_capture_on_commit_callbacks)
    # It passed the store's check just before the tombstone committed: stored, with the phone in it.
    late = WebhookEvent.objects.create(provider="twilio", kind="status", message_sid=sid, recipient=PHONE,
                                       payload=status_callback(sid=sid, status="read", to=PHONE))  # fmt: skip
    batch = webhook_events_process(event_ids=[late.pk])
    assert batch.events == []
    assert not WebhookEvent.objects.filter(pk=late.pk).exists()
    run_sweep()
    assert not WebhookEvent.objects.exists()


@pytest.fixture
def media_server(twilio_settings):
    with MediaServer() as server:
        twilio_settings.TWILIO_API_BASE_URL = server.base_url
        twilio_settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
        yield server


def test_an_attachment_fetch_in_flight_for_an_erased_message_leaves_no_file(
    admin_user, media_server, monkeypatch, django_capture_on_commit_callbacks, settings
):
    lead, messages, _ = full_lead(PHONE)
    Message.objects.filter(pk=messages[0].pk).update(provider="twilio")  # fetched with Twilio's credentials
    pending = MessageMedia.objects.create(
        message=messages[0], position=1, source_url=media_server.media_url("ME1", JPEG), content_type="image/jpeg"
    )
    real_download = media_service._download

    def download_then_erase(url, backend):
        content = real_download(url, backend)
        erase(lead, admin_user, django_capture_on_commit_callbacks)  # the erasure commits while the bytes arrive
        return content

    monkeypatch.setattr(media_service, "_download", download_then_erase)
    assert media_fetch(media_id=pending.pk) is None
    assert not MessageMedia.objects.exists()
    assert [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] == [], "no file is left behind"


def test_a_fetch_that_finds_its_row_gone_after_writing_removes_its_file(monkeypatch, settings):
    _, messages, _ = full_lead(PHONE)
    media = MessageMedia.objects.create(message=messages[0], position=1, source_url="https://x/ME2")
    monkeypatch.setattr(media_service, "_download", lambda url, backend: (JPEG, "image/jpeg"))
    real_save = media.file.field.attr_class.save

    def save_then_vanish(self, name, content, save=True):
        real_save(self, name, content, save=save)
        MessageMedia.objects.filter(pk=self.instance.pk).delete()  # erased on a database without row locks

    monkeypatch.setattr(media.file.field.attr_class, "save", save_then_vanish)
    before = {p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()}
    assert media_fetch(media_id=media.pk) is None
    assert {p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()} == before
    assert default_storage.exists(messages[0].media.get().file.name)
