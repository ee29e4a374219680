"""Login throttling (django-axes): both login forms, per username and client address, with a cool-off."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.db.models import F

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOGIN_FORMS = ["/accounts/login/", "/admin/login/"]


@pytest.fixture
def ayse(django_user_model):
    return django_user_model.objects.create_user(username="ayse", password=PASSWORD, is_staff=True, is_superuser=True)


def attempt(client, url, username, password, **meta):
    return client.post(url, {"username": username, "password": password}, **meta)


def assert_locked(response):
    assert response.status_code == 429
    page = response.content.decode()
    assert "Login locked" in page
    assert "locked after 5 failed attempts" in page
    assert "Try again in 15" in page and "minutes" in page


def assert_logged_in(response):
    assert response.status_code == 302, response.content.decode()[:300]
    assert "_auth_user_id" in response.wsgi_request.session


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_thirty_wrong_passwords_lock_the_right_one_out(client, ayse, url):
    for _ in range(30):
        attempt(client, url, "ayse", "wrong")
    response = attempt(client, url, "ayse", PASSWORD)
    assert_locked(response)
    assert client.get("/inbox/").status_code == 302  # not logged in


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_a_few_failures_are_only_a_form_error_and_a_success_resets_them(client, ayse, url):
    for _ in range(4):
        assert attempt(client, url, "ayse", "wrong").status_code == 200
    assert_logged_in(attempt(client, url, "ayse", PASSWORD))
    client.post("/accounts/logout/")
    for _ in range(4):
        attempt(client, url, "ayse", "wrong")
    assert_logged_in(attempt(client, url, "ayse", PASSWORD))  # the count started again at the success


def test_the_lockout_counts_both_forms_together_and_not_other_usernames(client, ayse, django_user_model):
    django_user_model.objects.create_user(username="deniz", password=PASSWORD)
    for n in range(6):
        attempt(client, LOGIN_FORMS[n % 2], "ayse", "wrong")
    assert_locked(attempt(client, "/accounts/login/", "ayse", PASSWORD))
    assert_logged_in(attempt(client, "/accounts/login/", "deniz", PASSWORD))  # same address, another username


def test_the_cool_off_ends_the_lockout(client, ayse):
    for _ in range(6):
        attempt(client, "/accounts/login/", "ayse", "wrong")

    def wait(minutes):  # travel in time: the attempts happened that much earlier
        AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=minutes))

    wait(14)
    assert_locked(attempt(client, "/accounts/login/", "ayse", PASSWORD))  # and the wait starts again
    wait(14)
    assert_locked(attempt(client, "/accounts/login/", "ayse", PASSWORD))
    wait(16)
    assert_logged_in(attempt(client, "/accounts/login/", "ayse", PASSWORD))


def test_without_a_trusted_proxy_x_forwarded_for_cannot_lock_someone_else_out(client, ayse):
    spoofing = {"REMOTE_ADDR": "203.0.113.66", "HTTP_X_FORWARDED_FOR": "198.51.100.3"}  # the victim's address
    for _ in range(30):
        attempt(client, "/accounts/login/", "ayse", "wrong", **spoofing)
    assert_logged_in(attempt(client, "/accounts/login/", "ayse", PASSWORD, REMOTE_ADDR="198.51.100.3"))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


def test_without_a_trusted_proxy_rotating_x_forwarded_for_does_not_escape(client, ayse):
    attacker = {"REMOTE_ADDR": "203.0.113.66"}
    for n in range(30):
        attempt(client, "/accounts/login/", "ayse", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", **attacker)
    assert_locked(attempt(client, "/accounts/login/", "ayse", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.1", **attacker))


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, ayse, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(6):
        attempt(client, "/accounts/login/", "ayse", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.66", **proxy)
    locked = attempt(client, "/accounts/login/", "ayse", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.66", **proxy)
    assert_locked(locked)
    # An attacker writing the victim's address first: the proxy appended the real one, which is what counts.
    spoofed = "198.51.100.3, 203.0.113.66"
    assert_locked(attempt(client, "/accounts/login/", "ayse", PASSWORD, HTTP_X_FORWARDED_FOR=spoofed, **proxy))
    # Everyone else behind the same proxy still logs in.
    victim = attempt(client, "/accounts/login/", "ayse", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.3", **proxy)
    assert_logged_in(victim)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


def test_the_test_clients_login_still_works(client, ayse):
    assert not client.login(username="ayse", password="wrong")
    assert client.login(username="ayse", password=PASSWORD)
    assert client.get("/inbox/").status_code == 200
