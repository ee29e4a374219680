"""Who else has a conversation open: each page says so, the answer names the others there now, a page that left
(or went quiet) is no longer named."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.roles import AGENTS
from leads.tests.factories import LeadFactory
from notifications import broadcast

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def signals(settings):
    settings.REDIS_URL = ""  # this process's receivers hear what is published
    heard = []
    broadcast.receiver_add(heard.append)
    yield heard
    broadcast.receiver_remove(heard.append)


def client_of(user_in_role, name, first_name):
    client = Client()
    client.force_login(user_in_role(name, AGENTS, first_name=first_name))
    return client


def test_each_page_hears_who_else_has_the_conversation_open(user_in_role, signals):
    ayse, deniz = client_of(user_in_role, "ayse", "Ayşe"), client_of(user_in_role, "deniz", "Deniz")
    lead, other = LeadFactory(), LeadFactory()
    url = reverse("inbox:presence", args=[lead.pk])
    assert ayse.post(url, {"state": "viewing"}).json() == {"viewers": []}
    assert [v["name"] for v in deniz.post(url, {"state": "typing"}).json()["viewers"]] == ["Ayşe"]
    assert [v["name"] for v in ayse.post(url, {"state": "viewing"}).json()["viewers"]] == ["Deniz"]
    assert deniz.post(reverse("inbox:presence", args=[other.pk]), {"state": "viewing"}).json() == {"viewers": []}
    deniz.post(url, {"state": "left"})
    assert ayse.post(url, {"state": "viewing"}).json() == {"viewers": []}
    states = [(s["name"], s["state"], s["lead_id"]) for s in signals if s["kind"] == "presence"]
    assert ("Deniz", "typing", str(lead.pk)) in states and ("Deniz", "left", str(lead.pk)) in states


def test_a_quiet_page_drops_out_by_itself(user_in_role, signals, monkeypatch):
    from notifications import presence

    ayse, deniz = client_of(user_in_role, "ayse", "Ayşe"), client_of(user_in_role, "deniz", "Deniz")
    lead = LeadFactory()
    url = reverse("inbox:presence", args=[lead.pk])
    monkeypatch.setattr(presence, "EXPIRES", 0.2)
    deniz.post(url, {"state": "viewing"})  # and then the laptop closes: no "left"
    import time

    time.sleep(0.3)
    assert ayse.post(url, {"state": "viewing"}).json() == {"viewers": []}


def test_a_bad_state_or_no_right_to_read_is_refused(user_in_role, django_user_model):
    lead = LeadFactory()
    url = reverse("inbox:presence", args=[lead.pk])
    ayse = client_of(user_in_role, "ayse", "Ayşe")
    refused = ayse.post(url, {"state": "dancing"})
    assert refused.status_code == 400 and "error" in refused.json()
    outsider = Client()
    outsider.force_login(django_user_model.objects.create_user(username="x"))
    assert outsider.post(url, {"state": "viewing"}).status_code == 403
    assert ayse.get(url).status_code == 405
