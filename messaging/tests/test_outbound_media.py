import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.models import Message
from messaging.services.outbound import SendRefused, message_send_media

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 2000
PDF = b"%PDF-1.7\n" + b"y" * 1000


@pytest.fixture
def lead():
    return LeadFactory(phone="+905551234567", last_inbound_at=timezone.now() - datetime.timedelta(hours=2))


def test_an_image_is_stored_and_sent_with_a_url_twilio_can_fetch(twilio, lead, client):
    with twilio.commit():
        message = message_send_media(
            lead=lead, upload=SimpleUploadedFile("salon.jpg", JPEG, content_type="image/jpeg"), caption="Salonumuz"
        )
    form = twilio.forms[0]
    assert form["Body"] == "Salonumuz"
    url = form["MediaUrl"]
    assert url.startswith("https://crm.example.com/m/")
    path = url.removeprefix("https://crm.example.com")

    fetched = client.get(path)  # Twilio has no session: the signed path is enough
    assert fetched.status_code == 200
    assert fetched["Content-Type"] == "image/jpeg"
    assert b"".join(fetched.streaming_content) == JPEG
    head = client.head(path)
    assert head.status_code == 200 and head["Content-Type"] == "image/jpeg"

    message.refresh_from_db()
    media = message.media.get()
    assert (media.content_type, media.size, media.status) == ("image/jpeg", len(JPEG), "stored")
    assert message.media_url == media.get_absolute_url()


def test_a_tampered_link_is_refused(twilio, lead, client):
    with twilio.commit():
        message_send_media(lead=lead, upload=SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf"))
    path = twilio.forms[0]["MediaUrl"].removeprefix("https://crm.example.com")
    assert client.get(path[:-2] + "xx").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "content_type", "channel", "code"),
    [
        ("virus.exe", b"MZ" + b"0" * 10, "application/x-msdownload", "whatsapp", "media_type"),
        ("big.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024), "image/jpeg", "whatsapp", "media_size"),
        ("fake.jpg", b"GIF89a" + b"0" * 10, "image/jpeg", "whatsapp", "media_type"),
        ("doc.pdf", PDF, "application/pdf", "sms", "media_type"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml",
         "whatsapp", "media_type"),
        ("page.jpg", b"<!doctype html><script>alert(1)</script>", "image/jpeg", "whatsapp", "media_type"),
        ("photo.jpg", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/jpeg", "whatsapp", "media_type"),
        ("page.html", b"<html><script>alert(1)</script></html>", "text/html", "whatsapp", "media_type"),
        ("menu.pdf", b"<html>not a pdf</html>", "application/pdf", "whatsapp", "media_type"),
        ("card.vcf", JPEG, "text/vcard", "whatsapp", "media_type"),
    ],
)  # fmt: skip
def test_files_outside_the_limits_are_refused(twilio, lead, name, content, content_type, channel, code):
    with pytest.raises(SendRefused) as excinfo, twilio.commit():
        message_send_media(
            lead=lead, upload=SimpleUploadedFile(name, content, content_type=content_type), channel=channel
        )
    assert excinfo.value.code == code
    assert twilio.requests == [] and not Message.objects.exists()
    if name == "virus.exe":  # the agent reads which file and what the channel takes, not a MIME type
        assert excinfo.value.message == (
            "virus.exe cannot be sent: WhatsApp takes images (JPEG, PNG), audio, video (MP4, 3GP), PDF, "
            "Office documents and contact cards."
        )


def test_media_needs_the_window_and_a_public_url(twilio, settings):
    closed = LeadFactory(phone="+905551234567")
    with pytest.raises(SendRefused, match="24 hours"):
        message_send_media(lead=closed, upload=SimpleUploadedFile("a.jpg", JPEG, content_type="image/jpeg"))
    settings.PUBLIC_BASE_URL = ""
    open_lead = LeadFactory(last_inbound_at=timezone.now())
    with pytest.raises(SendRefused, match="PUBLIC_BASE_URL"):
        message_send_media(lead=open_lead, upload=SimpleUploadedFile("a.jpg", JPEG, content_type="image/jpeg"))


def test_the_stored_type_is_the_sniffed_one(twilio, lead):
    """A browser that declares nothing specific: the bytes decide, and a harmless text type is kept."""
    with twilio.commit():
        photo = message_send_media(
            lead=lead, upload=SimpleUploadedFile("IMG_1.JPG", JPEG, content_type="application/octet-stream")
        )
        card = message_send_media(
            lead=lead,
            upload=SimpleUploadedFile("ayse.vcf", b"BEGIN:VCARD\r\nEND:VCARD\r\n", content_type="text/x-vcard"),
        )
    assert photo.media.get().content_type == "image/jpeg" and photo.media_content_type == "image/jpeg"
    assert card.media.get().content_type == "text/vcard"
    assert card.media.get().file.name.endswith(".vcf")
