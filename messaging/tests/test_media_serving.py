"""Attachments never run in our origin: what is stored, how every media response is served, what the page shows."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import whatsapp_media
from messaging.models import Message, MessageMedia
from messaging.services.outbound import message_send_media
from messaging.tests.factories import InboundMessageFactory
from messaging.tests.media_server import MediaServer

pytestmark = pytest.mark.django_db

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("/api/debug/messages")</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"png" * 200
PDF = b"%PDF-1.7\n" + b"pdf" * 200
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 400
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 400
VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ay\xc5\x9fe Y\xc4\xb1lmaz\r\nEND:VCARD\r\n"


@pytest.fixture
def media_server(twilio_settings):
    with MediaServer() as server:
        twilio_settings.TWILIO_API_BASE_URL = server.base_url
        twilio_settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
        yield server


def receive(post_webhook, media_server, content: bytes, declared: str, served: str) -> MessageMedia:
    """A lead sends one attachment whose webhook says `declared` and whose server says `served`."""
    url = media_server.media_url("ME1", content, served)
    payload = whatsapp_media(media_urls=[url], content_types=[declared], body="dosya")
    if not declared:
        del payload["MediaContentType0"]
    post_webhook(payload)
    media = MessageMedia.objects.get()
    assert media.status == "stored", media.error
    return media


def assert_sandboxed(response):
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("content", "declared", "served", "stored"),
    [
        (SVG, "image/svg+xml", "image/svg+xml", "application/octet-stream"),
        (HTML, "", "text/html", "application/octet-stream"),  # no MediaContentType: the server's type
        (HTML, "image/jpeg", "image/jpeg", "application/octet-stream"),  # a lie the bytes give away
        (SVG, "text/plain", "text/plain", "text/plain"),  # harmless as a download
    ],
)
def test_a_script_carrying_attachment_is_only_ever_a_download(
    post_webhook, media_server, staff_client, content, declared, served, stored
):
    media = receive(post_webhook, media_server, content, declared, served)
    assert media.content_type == stored
    response = staff_client.get(media.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == stored
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert_sandboxed(response)
    assert b"".join(response.streaming_content) == content

    page = staff_client.get(f"/inbox/{media.message.lead_id}/").content.decode()
    assert f'src="{media.get_absolute_url()}"' not in page
    assert f'href="{media.get_absolute_url()}" download="{media.download_name}"' in page
    assert " target=" not in page


@pytest.mark.parametrize(
    ("content", "declared", "stored", "tag"),
    [
        (JPEG, "image/png", "image/jpeg", '<img src="{url}"'),  # the bytes win over the declared type
        (PNG, "image/png", "image/png", '<img src="{url}"'),
        (MP3, "audio/mpeg", "audio/mpeg", '<audio controls preload="none" src="{url}"'),
        (MP4, "video/mp4", "video/mp4", '<video controls preload="metadata" src="{url}"'),
    ],
)
def test_images_audio_and_video_whose_bytes_match_are_inline(
    post_webhook, media_server, staff_client, content, declared, stored, tag
):
    media = receive(post_webhook, media_server, content, declared, declared)
    assert media.content_type == stored
    assert Message.objects.get().media_content_type == stored
    response = staff_client.get(media.get_absolute_url())
    assert response["Content-Type"] == stored
    assert response["Content-Disposition"].startswith("inline")
    assert_sandboxed(response)

    page = staff_client.get(f"/inbox/{media.message.lead_id}/").content.decode()
    assert tag.format(url=media.get_absolute_url()) in page


@pytest.mark.parametrize(
    ("content", "declared", "stored", "extension"),
    [(PDF, "application/pdf", "application/pdf", ".pdf"), (VCARD, "text/vcard", "text/vcard", ".vcf")],
)
def test_documents_are_downloads_with_a_sensible_name(
    post_webhook, media_server, staff_client, content, declared, stored, extension
):
    media = receive(post_webhook, media_server, content, declared, declared)
    assert media.content_type == stored
    assert media.file.name.endswith(extension)
    response = staff_client.get(media.get_absolute_url())
    assert response["Content-Type"] == stored
    assert response["Content-Disposition"] == f'attachment; filename="attachment-{media.pk.hex[:8]}{extension}"'
    assert_sandboxed(response)


def test_a_row_stored_before_sniffing_is_judged_by_its_bytes_when_served(staff_client):
    """Attachments stored under the sender's type (before this rule) are not trusted either."""
    message = InboundMessageFactory(lead=LeadFactory())
    for position, (content, content_type) in enumerate([(SVG, "image/svg+xml"), (HTML, "image/jpeg")]):
        media = MessageMedia(message=message, position=position, content_type=content_type, status="stored")
        media.file.save("legacy", ContentFile(content), save=False)
        media.save()
        response = staff_client.get(media.get_absolute_url())
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
        assert_sandboxed(response)


def test_agents_uploads_on_the_signed_links_twilio_fetches_are_served_the_same_way(twilio_settings, client):
    twilio_settings.PUBLIC_BASE_URL = "https://crm.example.com"
    lead = LeadFactory(phone="+905551234567", last_inbound_at=timezone.now() - datetime.timedelta(hours=1))
    image = message_send_media(lead=lead, upload=SimpleUploadedFile("salon.jpg", JPEG, content_type="image/jpeg"))
    document = message_send_media(lead=lead, upload=SimpleUploadedFile("menu.pdf", PDF, content_type="application/pdf"))

    for message, content_type, disposition in (
        (image, "image/jpeg", "inline"),
        (document, "application/pdf", "attachment"),
    ):
        media = message.media.get()
        for method in (client.get, client.head):
            response = method(media.public_path())  # no session: the signed token is the permission
            assert response.status_code == 200
            assert response["Content-Type"] == content_type
            assert response["Content-Disposition"].startswith(disposition)
            assert_sandboxed(response)


def test_the_pages_csp_does_not_replace_the_media_sandbox(staff_client, post_webhook, media_server):
    media = receive(post_webhook, media_server, PNG, "image/png", "image/png")
    assert staff_client.get(media.get_absolute_url())["Content-Security-Policy"] == "sandbox"
    page = staff_client.get(f"/inbox/{media.message.lead_id}/")
    assert "default-src 'self'" in page["Content-Security-Policy"]
