"""The language switch: Django's set_language on the pages and in the admin, remembered per user."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import UserPreference

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
SWITCH = "/i18n/setlang/"


@pytest.fixture(autouse=True)
def _turkish_site(settings):
    settings.LANGUAGE_CODE = "tr"


def browser():
    """A browser whose own language is Turkish, as the site's is."""
    return Client(HTTP_ACCEPT_LANGUAGE="tr")


@pytest.fixture
def ayse(user_in_role):
    from accounts.roles import AGENTS

    return user_in_role("ayse", AGENTS, password=PASSWORD)


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_user(username="root", password=PASSWORD, is_staff=True, is_superuser=True)


def log_in(client, username, path="/accounts/login/"):
    response = client.post(path, {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:300]


def language_of(response) -> str:
    assert response.status_code == 200
    return response.headers["Content-Language"]


def test_the_pages_offer_the_switch_logged_in_or_not(ayse):
    client = browser()
    login_page = client.get("/accounts/login/").content.decode()
    assert f'action="{SWITCH}"' in login_page and 'name="language"' in login_page
    log_in(client, "ayse")
    inbox = client.get("/inbox/").content.decode()
    assert f'action="{SWITCH}"' in inbox
    assert '<option value="en" lang="en">English</option>' in inbox
    assert '<option value="tr" lang="tr" selected>Türkçe</option>' in inbox


def test_english_chosen_on_a_page_stays_with_the_user_not_the_browser(ayse, user_in_role):
    from accounts.roles import AGENTS

    client = browser()
    log_in(client, "ayse")
    inbox = client.get("/inbox/")
    assert language_of(inbox) == "tr" and "Gelen kutusu" in inbox.content.decode()

    response = client.post(SWITCH, {"language": "en", "next": "/inbox/"})
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    inbox = client.get("/inbox/")
    assert language_of(inbox) == "en" and "Gelen kutusu" not in inbox.content.decode()
    assert UserPreference.objects.get(user=ayse).language == "en"

    client.post("/accounts/logout/")
    elsewhere = browser()  # another day, another browser: no cookie from before
    log_in(elsewhere, "ayse")
    assert language_of(elsewhere.get("/inbox/")) == "en"

    user_in_role("deniz", AGENTS, password=PASSWORD)
    colleague = browser()
    log_in(colleague, "deniz")
    assert language_of(colleague.get("/inbox/")) == "tr"


def test_english_chosen_in_the_admin_stays_with_the_user(root):
    client = browser()
    log_in(client, "root", path="/admin/login/?next=/admin/")
    index = client.get("/admin/")
    assert "Site yönetimi" in index.content.decode()
    assert f'action="{SWITCH}"' in index.content.decode()

    client.post(SWITCH, {"language": "en", "next": "/admin/"})
    assert "Site administration" in client.get("/admin/").content.decode()

    client.post("/admin/logout/")
    elsewhere = browser()
    log_in(elsewhere, "root", path="/admin/login/?next=/admin/")
    assert "Site administration" in elsewhere.get("/admin/").content.decode()


def test_the_choice_costs_no_query_per_request(ayse):
    client = browser()
    log_in(client, "ayse")
    client.post(SWITCH, {"language": "en", "next": "/inbox/"})
    with CaptureQueriesContext(connection) as queries:
        assert language_of(client.get("/inbox/unread")) == "en"
    assert not [q for q in queries.captured_queries if "accounts_userpreference" in q["sql"]]


def test_a_language_not_offered_changes_nothing(ayse):
    client = browser()
    log_in(client, "ayse")
    assert client.post(SWITCH, {"language": "xx", "next": "/inbox/"}).status_code == 302
    assert not UserPreference.objects.exists()
    assert language_of(client.get("/inbox/")) == "tr"


def test_a_visitor_switching_on_the_login_page_saves_no_preference():
    client = browser()
    client.post(SWITCH, {"language": "en", "next": "/accounts/login/"})
    assert language_of(client.get("/accounts/login/")) == "en"  # Django's cookie
    assert not UserPreference.objects.exists()
