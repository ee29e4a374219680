"""Canned replies: the team's (admin) and an agent's own (their page), picked in the composer by shortcut and
filled from the lead."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import AGENTS, OPERATORS
from leads.tests.factories import LeadFactory
from templates_app.models import CannedReply
from templates_app.rendering import template_values
from templates_app.selectors import canned_replies_for
from templates_app.services import canned_reply_save

pytestmark = pytest.mark.django_db


def reply(shortcut, text, owner=None) -> CannedReply:
    return canned_reply_save(reply=CannedReply(shortcut=shortcut, text=text, owner=owner))


@pytest.fixture
def ayse(user_in_role):
    return user_in_role("ayse", AGENTS)


def test_the_picker_offers_the_teams_and_ones_own_matching_shortcut_or_text(ayse, user_in_role):
    deniz = user_in_role("deniz", AGENTS)
    reply("fiyat", "Fiyat listemiz ekte, {{1}}.")
    reply("fiyat", "Benim fiyat notum", owner=ayse)  # one's own may share a team shortcut
    reply("adres", "Adresimiz: Bağdat Caddesi 12")
    reply("gizli", "Deniz'in kendi cevabı", owner=deniz)
    assert [(r.shortcut, r.owner_id) for r in canned_replies_for(user=ayse)] == [
        ("adres", None),
        ("fiyat", ayse.pk),
        ("fiyat", None),
    ]
    assert [r.shortcut for r in canned_replies_for(user=ayse, query="fi")] == ["fiyat", "fiyat"]
    assert [r.shortcut for r in canned_replies_for(user=ayse, query="bağdat")] == ["adres"]


def test_a_shortcut_is_checked_and_unique_among_the_teams_and_among_ones_own(ayse):
    reply("fiyat", "Fiyat listemiz ekte.")
    for shortcut, text, field in (
        ("fiyat", "bir daha", "shortcut"),  # the team has it
        ("iki kelime", "metin", "shortcut"),
        ("", "metin", "shortcut"),
        ("bos", "   ", "text"),
        ("uzun", "x" * 1601, "text"),
    ):
        with pytest.raises(ValidationError) as refused:
            reply(shortcut, text)
        assert field in refused.value.message_dict, (shortcut, text)
    assert reply("/iyi-günler_2", "İyi günler!").shortcut == "iyi-günler_2"  # the slash typed before it is dropped
    reply("fiyat", "kendi", owner=ayse)
    with pytest.raises(ValidationError):
        reply("fiyat", "ikinci kendi", owner=ayse)


def test_the_composers_list_is_filled_for_the_lead(client, ayse):
    client.force_login(ayse)
    lead = LeadFactory(name="Elif Kaya", event_date=datetime.date(2027, 6, 12))
    reply("tarih", "Merhaba {{1}}, {{2}} tarihi için yerimiz var. Saat {{3}} uygun mu?")
    page = client.get(reverse("inbox:reply-picker", args=[lead.pk]), {"q": "ta"}).content.decode()
    date = template_values(lead=lead)[1]  # as a template's {{2}} is written
    assert f"Merhaba Elif Kaya, {date} tarihi için yerimiz var. Saat {{{{3}}}} uygun mu?" in page  # no time: left
    assert "No canned reply" in client.get(reverse("inbox:reply-picker", args=[lead.pk]), {"q": "yok"}).content.decode()


def test_an_agent_keeps_their_own_on_their_page_and_cannot_touch_anothers(client, ayse, user_in_role):
    client.force_login(ayse)
    url = reverse("inbox:replies")
    assert client.get(url).status_code == 200
    assert client.post(url, {"shortcut": "selam", "text": "Selam {{1}}!"}).status_code == 302
    own = CannedReply.objects.get(owner=ayse)
    response = client.post(url, {"shortcut": "selam", "text": "tekrar"})
    assert response.status_code == 400 and "This shortcut is taken" in response.content.decode()
    client.post(url, {"reply": own.pk, "shortcut": "merhaba", "text": "Merhaba {{1}}!"})
    own.refresh_from_db()
    assert (own.shortcut, own.text) == ("merhaba", "Merhaba {{1}}!")
    theirs = reply("onun", "başkasının", owner=user_in_role("deniz", AGENTS))
    team = reply("ekip", "ekibin")
    for other in (theirs, team):
        assert client.post(url, {"reply": other.pk, "delete": "1"}).status_code == 404
        assert client.get(url, {"edit": other.pk}).status_code == 404
    client.post(url, {"reply": own.pk, "delete": "1"})
    assert set(CannedReply.objects.values_list("shortcut", flat=True)) == {"onun", "ekip"}


def test_operators_manage_the_teams_replies_in_the_admin(client, user_in_role):
    client.force_login(user_in_role("operator", OPERATORS, is_staff=True))
    add = reverse("admin:templates_app_cannedreply_add")
    assert client.post(add, {"shortcut": "fiyat", "text": "Fiyat listemiz ekte."}).status_code == 302
    response = client.post(add, {"shortcut": "fiyat", "text": "İkinci"})
    assert response.status_code == 200 and "This shortcut is taken" in response.content.decode()
    assert CannedReply.objects.get().owner is None
