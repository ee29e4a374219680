"""django-axes' records in our admin (accounts.admin): an operator finds a locked-out login and unlocks it, titles
read in Turkish and local time."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import LoginFailure, SignIn
from accounts.roles import OPERATORS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LATE_EVENING_UTC = datetime(2026, 1, 15, 23, 30, 5, tzinfo=UTC)  # already the next day in Istanbul (UTC+3)


@pytest.fixture
def operator(user_in_role):
    client = Client()
    client.force_login(user_in_role("operator", OPERATORS, is_staff=True))
    return client


def fail_logins(username, times):
    client = Client()
    for _ in range(times):
        client.post("/accounts/login/", {"username": username, "password": "wrong"})
    return client


def test_an_operator_sees_the_lockout_and_unlocks_it(operator, django_user_model):
    django_user_model.objects.create_user(username="ayse", password=PASSWORD)
    locked = fail_logins("ayse", 5)
    fail_logins("deniz", 2)
    assert locked.post("/accounts/login/", {"username": "ayse", "password": PASSWORD}).status_code == 429

    changelist = reverse("admin:accounts_loginfailure_changelist")
    page = operator.get(changelist + "?locked_out=yes", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "ayse" in page and "deniz" not in page
    assert "Değiştirmek için başarısız giriş seçin" not in page  # read-only: "Göstermek için …"
    assert "Göstermek için başarısız giriş seçin" in page

    failure = LoginFailure.objects.get(username="ayse")
    response = operator.post(reverse("admin:accounts_loginfailure_delete", args=[failure.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not LoginFailure.objects.filter(username="ayse").exists()
    assert locked.post("/accounts/login/", {"username": "ayse", "password": PASSWORD}).status_code == 302


def test_axes_own_admin_is_not_registered(staff_client):
    assert staff_client.get("/admin/axes/accessattempt/").status_code == 404
    index = staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "Access failures" not in index and "Erişim kayıtları" not in index
    assert "Başarısız girişler" in index and "Oturum açmalar" in index


def test_titles_are_in_turkish_and_local_time(staff_client, settings):
    settings.TIME_ZONE = "Europe/Istanbul"
    record = {"username": "admin", "ip_address": "127.0.0.1", "user_agent": "Firefox", "path_info": "/admin/login/"}
    failure = LoginFailure.objects.create(**record, failures_since_start=2, get_data="", post_data="")
    sign_in = SignIn.objects.create(**record)
    LoginFailure.objects.filter(pk=failure.pk).update(attempt_time=LATE_EVENING_UTC)
    SignIn.objects.filter(pk=sign_in.pk).update(attempt_time=LATE_EVENING_UTC)
    for model, obj, heading in [
        ("loginfailure", failure, "Bu başarısız giriş kaydını görüntüle"),
        ("signin", sign_in, "Bu oturum açma kaydını görüntüle"),
    ]:
        page = staff_client.get(
            reverse(f"admin:accounts_{model}_change", args=[obj.pk]), HTTP_ACCEPT_LANGUAGE="tr"
        ).content.decode()
        assert f"<title>admin @ 2026-01-16 02:30:05 | {heading} | Happy CRM</title>" in page
        assert "+00:00" not in page and "Access Log" not in page
        assert "Tarayıcı kimliği" in page
