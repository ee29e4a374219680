"""Bubbles for what a message carries beyond its text: a place, the option chosen, the message quoted, the ad that
started the conversation, a shared contact, a sticker; everything the sender wrote escaped; the quotes of a page read
in one query."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.models import MessageMedia
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert('x')</script>"


def page_of(client, lead, **params) -> str:
    return client.get(reverse("inbox:conversation", args=[lead.pk]), params).content.decode()


def bubble_of(html: str, message) -> str:
    start = html.index(f'id="message-{message.pk}"')
    return html[start : html.index("</li>", start)]


@pytest.fixture
def lead():
    return LeadFactory(name="Elif Kaya", phone="+905551110001")


def said(lead, minutes_ago=10, **fields):
    message = InboundMessageFactory(
        lead=lead, created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago), **fields
    )
    lead_activity_refresh(lead=lead)
    return message


def test_a_location_is_a_map_link_with_its_name_and_address(agent_client, lead):
    place = said(
        lead,
        body="",
        content={
            "location": {
                "latitude": 41.0438,
                "longitude": 29.0094,
                "label": "Düğün Salonu",
                "address": "Beşiktaş, İstanbul",
            }
        },
    )
    bubble = bubble_of(page_of(agent_client, lead), place)
    assert (
        'href="https://www.openstreetmap.org/?mlat=41.043800&amp;mlon=29.009400#map=17/41.043800/29.009400"' in bubble
    )
    assert "Düğün Salonu" in bubble and "Beşiktaş, İstanbul" in bubble and "41.04380, 29.00940" in bubble
    assert 'target="_blank" rel="noopener noreferrer"' in bubble


def test_a_location_without_coordinates_says_so(agent_client, lead):
    place = said(lead, body="", content={"location": {"label": "Ev"}})
    bubble = bubble_of(page_of(agent_client, lead), place)
    assert "Ev" in bubble and "without valid coordinates" in bubble and "openstreetmap" not in bubble


def test_button_and_list_replies_show_the_option_chosen(agent_client, lead):
    button = said(lead, 12, body="Evet", content={"choice": {"kind": "button", "title": "Evet", "id": "CONFIRM_YES"}})
    listed = said(
        lead,
        11,
        body="Cumartesi 19:00",
        content={"choice": {"kind": "list", "title": "Cumartesi 19:00", "id": "slot-sat-19"}},
    )
    html = page_of(agent_client, lead)
    assert "Tapped the button" in bubble_of(html, button) and "<strong>Evet</strong>" in bubble_of(html, button)
    assert "Chose from the list" in bubble_of(html, listed)
    assert bubble_of(html, listed).count("Cumartesi 19:00") == 1  # the body repeating the choice is not shown twice


def test_a_quoted_reply_shows_the_quoted_message_with_a_link_to_it_or_says_it_is_not_here(agent_client, lead):
    ours = MessageFactory(
        lead=lead,
        body="Cumartesi için 120 kişilik salon uygun.",
        created_at=timezone.now() - datetime.timedelta(minutes=30),
    )
    reply = said(lead, 5, body="Bu teklif hâlâ geçerli mi?", content={"quoted_sid": ours.twilio_message_sid})
    lost = said(lead, 4, body="Peki bu?", content={"quoted_sid": "SM" + "f" * 32})
    other_lead = MessageFactory(body="Başka birinin mesajı")
    foreign = said(lead, 3, body="Ya bu?", content={"quoted_sid": other_lead.twilio_message_sid})
    html = page_of(agent_client, lead)
    quoted = bubble_of(html, reply)
    assert f'href="#message-{ours.pk}"' in quoted and "Cumartesi için 120 kişilik salon uygun." in quoted
    assert "Replying to our message" in quoted
    assert "not stored here" in bubble_of(html, lost)
    foreign_bubble = bubble_of(html, foreign)
    assert "not stored here" in foreign_bubble and "Başka birinin" not in foreign_bubble  # never another lead's


def test_an_ad_referral_shows_its_headline_body_and_link(agent_client, lead):
    ad = said(
        lead,
        body="Bilgi alabilir miyim?",
        content={
            "referral": {
                "headline": "Düğün paketi",
                "body": "Haziran'a özel",
                "source_url": "https://fb.me/3bXyZ",
                "source_type": "ad",
            }
        },
    )
    bubble = bubble_of(page_of(agent_client, lead), ad)
    assert "From an ad" in bubble and "Düğün paketi" in bubble and "Haziran&#x27;a özel" in bubble
    assert '<a href="https://fb.me/3bXyZ" target="_blank" rel="noopener noreferrer nofollow">' in bubble


def test_a_shared_contact_shows_its_name_and_number_and_a_sticker_has_no_bubble(agent_client, lead):
    card = said(lead, 6, body="")
    MessageMedia.objects.create(
        message=card,
        position=0,
        content_type="text/vcard",
        status="stored",
        file="x.vcf",
        contacts=[{"name": "Mert Demir", "phones": ["+90 555 111 00 02"]}],
    )
    sticker = said(lead, 5, body="")
    MessageMedia.objects.create(message=sticker, position=0, content_type="image/webp", status="stored", file="s.webp")
    html = page_of(agent_client, lead)
    assert "Mert Demir" in bubble_of(html, card) and "+90 555 111 00 02" in bubble_of(html, card)
    assert 'class="bubble theirs sticker"' in html and 'class="sticker-image"' in bubble_of(html, sticker)


def test_everything_a_hostile_sender_wrote_is_escaped_and_a_javascript_link_is_no_link(agent_client, lead):
    evil = said(
        lead,
        8,
        body="",
        content={
            "location": {"latitude": 1, "longitude": 2, "label": HOSTILE, "address": HOSTILE},
            "choice": {"kind": "button", "title": HOSTILE, "id": HOSTILE},
            "referral": {"headline": HOSTILE, "body": HOSTILE, "source_url": "javascript:alert(1)"},
        },
    )
    MessageMedia.objects.create(
        message=evil,
        position=0,
        content_type="text/vcard",
        status="stored",
        file="x.vcf",
        contacts=[{"name": HOSTILE, "phones": ["+90"]}],
    )
    quoting = said(lead, 7, body="x", content={"quoted_sid": evil.twilio_message_sid})
    html = page_of(agent_client, lead)
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") >= 6
    assert 'href="javascript' not in html.lower()
    assert "javascript:alert(1)" in bubble_of(html, evil)  # shown as text, for the agent to see
    assert f'href="#message-{evil.pk}"' in bubble_of(html, quoting)


def test_the_quotes_of_a_page_cost_one_query_whatever_their_number(agent_client, lead):
    plain = LeadFactory()
    now = timezone.now()
    for n in range(25):
        MessageFactory(lead=plain, body=f"mesaj {n}", created_at=now - datetime.timedelta(minutes=60 - n))
    targets = [
        MessageFactory(lead=lead, body=f"teklif {n}", created_at=now - datetime.timedelta(minutes=60 - n))
        for n in range(12)
    ]
    for n, target in enumerate(targets):
        said(lead, 40 - n, body=f"cevap {n}", content={"quoted_sid": target.twilio_message_sid})
    said(lead, 1, body="kayıp", content={"quoted_sid": "SM" + "e" * 32})
    lead_activity_refresh(lead=plain)
    url = reverse("inbox:conversation", args=[plain.pk])
    agent_client.get(url)
    with CaptureQueriesContext(connection) as without:
        agent_client.get(url)
    agent_client.get(reverse("inbox:conversation", args=[lead.pk]))
    with CaptureQueriesContext(connection) as with_quotes:
        html = page_of(agent_client, lead)
    assert html.count('class="quote ours"') == 12 and html.count('class="quote missing"') == 1
    assert len(with_quotes) == len(without) + 1


def test_a_page_of_older_messages_reads_its_quotes_in_one_query(agent_client, lead, django_assert_num_queries):
    now = timezone.now()
    target = MessageFactory(lead=lead, body="teklif", created_at=now - datetime.timedelta(hours=3))
    for n in range(40):
        said(lead, 120 - n, body=f"cevap {n}", content={"quoted_sid": target.twilio_message_sid})
    newest = lead.messages.order_by("-created_at").first()
    url = reverse("inbox:conversation", args=[lead.pk])
    # The session, the user, their permissions (2), the lead, the cursor's message, the page, its media, its quotes,
    # the notes of its stretch of time.
    with django_assert_num_queries(10):
        agent_client.get(url, {"before": str(newest.pk)}, HTTP_HX_REQUEST="true")
