import datetime
import re

import pytest
from django.utils import timezone

from messaging.backends.twilio.media import media_credentials
from messaging.backends.twilio.tests.payloads import whatsapp_media, whatsapp_text
from messaging.models import Message, MessageMedia
from messaging.selectors import webhook_diagnostics
from messaging.services.media import MEDIA_MAX_ATTEMPTS, MediaFetchError, media_fetch
from messaging.services.webhooks import webhook_events_sweep
from messaging.tests.media_server import EXPECTED_AUTH, MediaServer

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"photo-one" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"photo-two" * 100


LOOPBACK = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def media_server(twilio_settings):
    with MediaServer() as server:
        twilio_settings.TWILIO_API_BASE_URL = server.base_url
        twilio_settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = LOOPBACK  # the fake Twilio and its "storage" are local
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
    assert media_credentials("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
    assert media_credentials("https://API.twilio.com:443/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
    assert media_credentials("http://api.twilio.com/2010-04-01/Accounts/AC1/Media/ME1") is None
    assert media_credentials("https://api.twilio.com:8443/2010-04-01/Accounts/AC1/Media/ME1") is None
    assert media_credentials("https://evil.example.com/api.twilio.com/Media/ME1") is None
    assert media_credentials("https://api.twilio.com.evil.example.com/Media/ME1") is None
    assert media_credentials("http://127.0.0.1:8080/Media/ME1") is None


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


def test_a_url_off_twilios_origin_is_refused_without_a_request_and_the_text_is_kept(post_webhook, media_server):
    with MediaServer() as other:  # another port of 127.0.0.1: loopback is allowed, the origin is not the same
        urls = [
            other.media_url("ME1", JPEG),
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            media_server.media_url("ME3", JPEG).replace("http://", "https://"),
        ]
        post_webhook(whatsapp_media(media_urls=urls, body="bakın"))
        assert other.requests == []
    assert media_server.requests == []

    message = Message.objects.get()
    assert message.body == "bakın"
    rows = list(message.media.values_list("status", "attempts", "error"))
    origin = f"http://127.0.0.1:{media_server.port}"
    assert rows == [("failed", 1, f"Refused: not a Twilio media URL: only {origin} is fetched")] * 3

    with pytest.raises(MessageMedia.DoesNotExist):  # nothing is retried: the sweep only takes pending ones
        MessageMedia.objects.get(status="pending")


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://10.0.0.8/internal", "10.0.0.8 is a private address"),
        ("http://127.0.0.2:6379/", "127.0.0.2 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[::ffff:192.168.0.1]/", "192.168.0.1 is a private address"),
    ],
)
def test_a_redirect_to_our_own_networks_is_refused(post_webhook, media_server, twilio_settings, location, reason):
    twilio_settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the fake Twilio only
    media_server.redirects["ME1"] = location
    post_webhook(whatsapp_media(media_urls=[media_server.media_url("ME1", JPEG)], body="yönlendirme"))

    media = MessageMedia.objects.get()
    assert media.status == "failed"
    assert reason in media.error and media.error.startswith("Refused: ")
    assert [url for url, _ in media_server.requests] == [
        f"127.0.0.1:{media_server.port}/2010-04-01/Accounts/" + media.source_url.split("/Accounts/", 1)[1]
    ]
    assert Message.objects.get().body == "yönlendirme"


def test_at_most_num_media_attachments_and_never_more_than_ten(post_webhook, media_server):
    urls = {}
    for index in range(980):  # short URLs, so 980 of them fit in a webhook body
        media_server.files[f"M{index}"] = (JPEG, "image/jpeg")
        urls[f"MediaUrl{index}"] = f"{media_server.base_url}/M{index}"
    post_webhook(whatsapp_text(body="980", NumMedia="980", **urls))
    message = Message.objects.get()
    assert message.body == "980"
    assert list(message.media.values_list("position", "status")) == [(index, "stored") for index in range(10)]
    assert len([hit for hit, _ in media_server.requests if "/cdn/" not in hit]) == 10

    Message.objects.all().delete()
    post_webhook(whatsapp_text(body="iki", NumMedia="2", **urls))
    assert Message.objects.get().media.count() == 2

    Message.objects.all().delete()
    post_webhook(whatsapp_text(body="yok", NumMedia="-4", **urls))
    assert Message.objects.get().media.count() == 0


def test_credentials_stay_on_twilios_origin_when_a_redirect_leaves_it(post_webhook, media_server):
    with MediaServer() as storage:
        storage.files["ME1"] = (PNG, "image/png")
        media_server.redirects["ME1"] = f"{storage.base_url}/cdn/ME1"
        post_webhook(whatsapp_media(media_urls=[media_server.media_url("ME1", PNG)]))
        assert storage.requests == [(f"127.0.0.1:{storage.port}/cdn/ME1", None)]
    assert [auth for _, auth in media_server.requests] == [EXPECTED_AUTH]
    media = MessageMedia.objects.get()
    assert (media.status, media.content_type) == ("stored", "image/png")


def test_an_attachment_over_the_size_cap_is_refused(post_webhook, media_server, monkeypatch):
    monkeypatch.setattr("messaging.services.media.MEDIA_MAX_BYTES", 1000)
    post_webhook(whatsapp_media(media_urls=[media_server.media_url("ME1", JPEG * 2)], body="büyük"))
    media = MessageMedia.objects.get()
    assert media.status == "failed"
    assert media.error.startswith("Refused: larger than 1000 bytes")
    assert not media.file
    assert Message.objects.get().body == "büyük"


def test_a_shared_contact_is_read_when_its_vcard_is_stored(post_webhook, media_server):
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Elif Kaya\r\nTEL;waid=905551110001:+90 555 111 00 01\r\nEND:VCARD\r\n"
    post_webhook(
        whatsapp_media(media_urls=[media_server.media_url("ME1", card, "text/x-vcard")], content_types=["text/x-vcard"])
    )
    media = MessageMedia.objects.get()
    assert (media.status, media.content_type) == ("stored", "text/vcard")
    assert media.contacts == [{"name": "Elif Kaya", "phones": ["+90 555 111 00 01"]}]
    assert media.file.read() == card  # the file itself is kept, to download


def test_other_files_hold_no_contacts(post_webhook, media_server):
    post_webhook(
        whatsapp_media(
            media_urls=[media_server.media_url("ME1", b"BEGIN:VCARD\nFN:x\nEND:VCARD", "text/plain")],
            content_types=["text/plain"],
        )
    )
    media = MessageMedia.objects.get()
    assert (media.content_type, media.contacts) == ("text/plain", [])
