import datetime
import re

import pytest
from django.utils import timezone

from messaging.models import Message, MessageMedia
from messaging.selectors import webhook_diagnostics
from messaging.services.media import MEDIA_MAX_ATTEMPTS, MediaFetchError, media_fetch, twilio_credentials_for
from messaging.services.webhooks import webhook_events_sweep
from messaging.tests.media_server import EXPECTED_AUTH, MediaServer
from messaging.tests.twilio import whatsapp_media

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"photo-one" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"photo-two" * 100


@pytest.fixture
def media_server(twilio_settings):
    with MediaServer() as server:
        twilio_settings.TWILIO_API_BASE_URL = server.base_url
        yield server


def test_every_attachment_is_fetched_with_auth_through_the_redirect(post_webhook, media_server, staff_client):
    urls = [media_server.media_url("ME1", JPEG, "image/jpeg"), media_server.media_url("ME2", PNG, "image/png")]
    post_webhook(whatsapp_media(media_urls=urls, content_types=["image/jpeg", "image/png"], body="Mekan fotoğrafları"))

    message = Message.objects.get()
    assert message.body == "Mekan fotoğrafları"
    first, second = message.media.all()
    assert (first.status, second.status) == ("stored", "stored")
    assert first.file.read() == JPEG and second.file.read() == PNG
    assert (first.content_type, second.content_type) == ("image/jpeg", "image/png")
    assert first.size == len(JPEG)
    assert message.media_url == first.get_absolute_url()
    assert message.media_content_type == "image/jpeg"
    for media in (first, second):
        assert re.fullmatch(rf"messages/\d{{4}}/\d{{2}}/{media.pk.hex}-[0-9a-f]{{16}}\.(jpg|png)", media.file.name)

    twilio_hits = [auth for url, auth in media_server.requests if "/Media/" in url]
    storage_hits = [auth for url, auth in media_server.requests if "/cdn/" in url]
    assert twilio_hits == [EXPECTED_AUTH, EXPECTED_AUTH]
    assert storage_hits == [None, None], "credentials must not follow the redirect to another host"

    response = staff_client.get(message.media_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG


def test_attachments_need_a_login(client, post_webhook, media_server):
    post_webhook(whatsapp_media(media_urls=[media_server.media_url("ME1", JPEG)]))
    response = client.get(Message.objects.get().media_url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_brief_404_is_retried_and_the_text_is_never_lost(post_webhook, media_server):
    url = media_server.media_url("ME1", JPEG)
    media_server.not_found_first["ME1"] = 2
    post_webhook(whatsapp_media(media_urls=[url], body="fotoğraf geliyor"))

    message = Message.objects.get()
    assert message.body == "fotoğraf geliyor"
    media = message.media.get()
    assert (media.status, media.attempts, media.error) == ("pending", 1, "HTTP 404 from 127.0.0.1")

    with pytest.raises(MediaFetchError):
        media_fetch(media_id=media.pk)
    media = media_fetch(media_id=media.pk)
    assert (media.status, media.attempts, media.error) == ("stored", 3, "")
    assert media.file.read() == JPEG


def test_a_lasting_failure_is_marked_and_visible(post_webhook, media_server):
    broken = f"{media_server.base_url}/broken/ME9"
    post_webhook(whatsapp_media(media_urls=[broken], body="bozuk"))
    media = MessageMedia.objects.get()
    for _ in range(MEDIA_MAX_ATTEMPTS - 1):
        with pytest.raises(MediaFetchError):
            media_fetch(media_id=media.pk)
    media.refresh_from_db()
    assert (media.status, media.attempts) == ("failed", MEDIA_MAX_ATTEMPTS)
    assert Message.objects.get().body == "bozuk"
    diagnostics = webhook_diagnostics()["media"]
    assert diagnostics["by_status"] == {"failed": 1}
    assert diagnostics["recent_failures"][0]["error"] == "HTTP 500 from 127.0.0.1"


def test_credentials_only_go_to_twilio(twilio_settings):
    twilio_settings.TWILIO_API_BASE_URL = ""
    assert twilio_credentials_for("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
    assert twilio_credentials_for("https://evil.example.com/api.twilio.com/Media/ME1") is None
    assert twilio_credentials_for("http://127.0.0.1:8080/Media/ME1") is None


def test_the_sweep_retries_attachments_left_pending(post_webhook, media_server, django_capture_on_commit_callbacks):
    media_server.not_found_first["ME1"] = 1
    post_webhook(whatsapp_media(media_urls=[media_server.media_url("ME1", JPEG)]))
    media = MessageMedia.objects.get()
    assert media.status == "pending"
    MessageMedia.objects.filter(pk=media.pk).update(updated_at=timezone.now() - datetime.timedelta(minutes=10))

    with django_capture_on_commit_callbacks(execute=True):
        counts = webhook_events_sweep()
    assert counts["media"] == 1
    media.refresh_from_db()
    assert (media.status, media.attempts) == ("stored", 2)
