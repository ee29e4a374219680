"""What the thread shows of a message's content: links only where they are safe, a place only where it is one."""

import pytest

from messaging.content import content_view, coordinate, map_url, safe_link
from messaging.models import MessageMedia


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://fb.me/3bXyZ", "https://fb.me/3bXyZ"),
        (" http://example.com/a?b=1 ", "http://example.com/a?b=1"),
        ("javascript:alert(1)", ""),
        ("JavaScript:alert(1)", ""),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("//evil.example/x", ""),
        ("https:///nohost", ""),
        ("https://ok.example/\x00x", ""),
        ("https://ok.example/ x", ""),
        ("", ""),
        (None, ""),
        (["https://a.example"], ""),
    ],
)
def test_only_http_and_https_addresses_become_links(url, link):
    assert safe_link(url) == link


@pytest.mark.parametrize(
    ("value", "limit", "number"),
    [("41.0438", 90, 41.0438), (" -29.5 ", 180, -29.5), ("91", 90, None), ("nan", 90, None), ("inf", 180, None),
     ("", 90, None), (None, 90, None), ("1e400", 180, None), (12, 90, 12.0)],
)  # fmt: skip
def test_coordinates_are_numbers_on_earth(value, limit, number):
    assert coordinate(value, limit=limit) == number


def test_the_map_link_is_openstreetmap_with_the_marker():
    assert map_url(41.0438, 29.0094) == (
        "https://www.openstreetmap.org/?mlat=41.043800&mlon=29.009400#map=17/41.043800/29.009400"
    )


def test_a_sticker_is_the_one_stored_webp_of_a_whatsapp_message():
    webp = MessageMedia(position=0, content_type="image/webp", status="stored")
    jpeg = MessageMedia(position=0, content_type="image/jpeg", status="stored")
    pending = MessageMedia(position=0, content_type="image/webp", status="pending")

    def view(channel, attachments):
        return content_view(content={}, channel=channel, attachments=attachments, quoted=None)["sticker"]

    assert view("whatsapp", [webp]) is True
    assert view("sms", [webp]) is False
    assert view("whatsapp", [jpeg]) is False
    assert view("whatsapp", [pending]) is False
    assert view("whatsapp", [webp, webp]) is False


def test_stored_content_of_any_shape_is_shown_without_failing():
    view = content_view(
        content={"location": "x", "choice": [], "referral": {"source_url": 5}, "quoted_sid": 7, "consent": "x"},
        channel="whatsapp",
        attachments=[],
        quoted=None,
        opt_change="out",
    )
    assert view == {"consent": {"change": "out", "by": "word", "word": "", "channel": "whatsapp"},
        "location": None, "choice": None, "quote": None, "referral": {
        "headline": "", "body": "", "url": "", "source_url": "", "source_type": "", "source_id": ""},
        "contacts": [], "sticker": False}  # fmt: skip
