"""Password reset by email where email is configured (EMAIL_URL; the console in local runs); elsewhere it is not
offered and the login page says to ask an administrator."""

import json
import re
import socket

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from happycrm.tests.test_settings import PRODUCTION_SECRETS, run

pytestmark = pytest.mark.django_db

NO_EMAIL = "django.core.mail.backends.dummy.EmailBackend"


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ayse", email="ayse@example.com", password="old-Pass-2026")


def test_with_email_the_login_page_offers_a_reset_that_works_end_to_end(client, user):
    login = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in login and "Ask an administrator" not in login

    page = client.get(reverse("password_reset"))
    assert page.status_code == 200 and 'name="email"' in page.content.decode()
    response = client.post(reverse("password_reset"), {"email": "AYSE@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    (message,) = mail.outbox
    assert message.to == ["ayse@example.com"] and message.subject == "Password reset on Happy CRM"
    assert "ayse" in message.body
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "new-Pass-2026!", "new_password2": "new-Pass-2026!"}
    )
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert Client().login(username="ayse", password="new-Pass-2026!")
    again = client.get(link, follow=True).content.decode()
    assert "The password reset link was invalid" in again


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, user):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []
    bad = client.post(reverse("password_reset"), {"email": "not an address"})
    assert bad.status_code == 200 and "Enter a valid email address." in bad.content.decode()


def test_without_email_nothing_is_offered_and_the_page_says_whom_to_ask(client, user, settings):
    settings.EMAIL_BACKEND = NO_EMAIL
    login = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") not in login
    assert "Forgotten your password? Ask an administrator to set a new one." in login
    for response in (
        client.get(reverse("password_reset")),
        client.post(reverse("password_reset"), {"email": user.email}),
    ):
        assert response.status_code == 200
        page = response.content.decode()
        assert "Ask an administrator to set a new one." in page and 'name="email"' not in page
    assert mail.outbox == []


def test_a_mail_server_that_is_down_is_logged_never_a_500(client, user, settings, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    response = Client(raise_request_exception=False).post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert "Failed to send password reset email" in caplog.text


def test_the_pages_read_in_turkish(client, user):
    client.cookies["django_language"] = "tr"
    page = client.get(reverse("password_reset")).content.decode()
    assert "Parolamı sıfırla" in page and "E-posta adresi" in page
    client.post(reverse("password_reset"), {"email": user.email})
    assert "parola sıfırlama istediniz" in mail.outbox[0].body
    assert mail.outbox[0].subject == "Happy CRM sitesinde parola sıfırlama"


@pytest.mark.slow
def test_email_url_configures_the_mail_and_each_settings_module_has_its_default(tmp_path):
    code = """
import json
from django.conf import settings
print(json.dumps([settings.EMAIL_BACKEND, getattr(settings, "EMAIL_HOST", ""), settings.EMAIL_PORT,
    settings.EMAIL_HOST_USER, settings.EMAIL_USE_TLS]))
"""

    def mail_settings(module, **env):
        result = run(tmp_path, module=module, code=code, **PRODUCTION_SECRETS, **env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.splitlines()[-1])

    smtp = mail_settings(
        "happycrm.settings.production", EMAIL_URL="smtp+tls://crm%40example.com:pw@mail.example.com:587"
    )
    assert smtp == ["django.core.mail.backends.smtp.EmailBackend", "mail.example.com", 587, "crm@example.com", True]
    assert mail_settings("happycrm.settings.production")[0] == NO_EMAIL
    assert mail_settings("happycrm.settings.local")[0] == "django.core.mail.backends.console.EmailBackend"
