"""Personal API tokens: created once and shown once, stored as a SHA-256, sent as a Bearer token, revocable."""

import datetime
import hashlib

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.roles import AGENTS
from accounts.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db

EVENTS = reverse("api:events")


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def agent(user_in_role):
    return user_in_role("agent", AGENTS)


def test_a_token_is_a_prefix_and_32_random_bytes_and_only_its_sha256_is_kept(agent):
    _, secret = api_token_create(user=agent, name="CRM sync")
    assert secret.startswith("hcrm_") and len(secret) == len("hcrm_") + 64
    int(secret.removeprefix("hcrm_"), 16)  # hex: 32 bytes
    stored = ApiToken.objects.get()
    assert stored.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {stored.digest, stored.token_key} and secret.startswith(stored.token_key)
    assert (stored.name, stored.user, stored.expiry, stored.last_used_at) == ("CRM sync", agent, None, None)
    assert api_token_create(user=agent, name="CRM sync")[1] != secret


def test_the_api_takes_a_bearer_token_with_the_users_permissions(client, agent, django_user_model):
    _, secret = api_token_create(user=agent, name="sync")
    response = client.get(EVENTS, **bearer(secret))
    assert response.status_code == 200 and "cursor" in response.json()
    anonymous = client.get(EVENTS)  # no token, no session: told how to authenticate
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Bearer")
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    wrong = client.get(EVENTS, **bearer(secret[:-1] + ("1" if secret.endswith("0") else "0")))  # one digit off
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "authentication_failed")
    assert client.get(EVENTS, HTTP_AUTHORIZATION=f"Token {secret}").status_code == 401  # only Bearer
    nobody = django_user_model.objects.create_user(username="nobody")  # no permission to read conversations
    assert client.get(EVENTS, **bearer(api_token_create(user=nobody, name="x")[1])).status_code == 403


def test_a_revoked_token_an_expired_one_and_one_of_an_inactive_user_are_refused(client, agent):
    revoked, revoked_secret = api_token_create(user=agent, name="old")
    api_token_revoke(token=revoked)
    assert client.get(EVENTS, **bearer(revoked_secret)).status_code == 401

    expiring, expiring_secret = api_token_create(
        user=agent, name="soon", expires_at=timezone.now() + datetime.timedelta(hours=1)
    )
    assert client.get(EVENTS, **bearer(expiring_secret)).status_code == 200
    ApiToken.objects.filter(pk=expiring.pk).update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(EVENTS, **bearer(expiring_secret)).status_code == 401
    assert not ApiToken.objects.filter(pk=expiring.pk).exists()  # knox deletes an expired token on sight

    _, secret = api_token_create(user=agent, name="sync")
    agent.is_active = False
    agent.save()
    assert client.get(EVENTS, **bearer(secret)).status_code == 401


def test_the_last_use_is_written_at_most_once_a_minute(client, agent, monkeypatch):
    _, secret = api_token_create(user=agent, name="sync")
    client.get(EVENTS, **bearer(secret))
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    client.get(EVENTS, **bearer(secret))
    assert ApiToken.objects.get().last_used_at == first
    later = timezone.now() + datetime.timedelta(seconds=ApiToken.LAST_USED_EVERY + 1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    client.get(EVENTS, **bearer(secret))
    assert ApiToken.objects.get().last_used_at == later


def test_creation_refuses_a_blank_name_a_past_expiry_and_an_inactive_user(agent, django_user_model):
    with pytest.raises(ValueError, match="name"):
        api_token_create(user=agent, name="  ")
    with pytest.raises(ValueError, match="future"):
        api_token_create(user=agent, name="x", expires_at=timezone.now() - datetime.timedelta(minutes=1))
    gone = django_user_model.objects.create_user(username="gone", is_active=False)
    with pytest.raises(ValueError, match="inactive"):
        api_token_create(user=gone, name="x")
    assert not ApiToken.objects.exists()


def test_the_command_prints_a_new_token_once_lists_and_revokes(client, agent, capsys):
    call_command("api_token", "create", "--user", "agent", "--name", "Muhasebe", "--expires-days", "30")
    out, err = capsys.readouterr()
    secret = out.strip()
    assert "Bearer" in err and client.get(EVENTS, **bearer(secret)).status_code == 200
    token = ApiToken.objects.get()
    assert token.expiry > timezone.now() + datetime.timedelta(days=29)
    assert LogEntry.objects.get().change_message.startswith("manage.py api_token, run by ")

    call_command("api_token", "list", "--user", "agent")
    listed = capsys.readouterr().out
    assert token.token_key in listed and "Muhasebe" in listed and secret not in listed

    call_command("api_token", "revoke", "--key", token.token_key)
    assert not ApiToken.objects.exists() and client.get(EVENTS, **bearer(secret)).status_code == 401
    assert LogEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--user", "nobody", "--name", "x"], "No user is called nobody."),
        (["create", "--user", "agent", "--name", " "], "A token needs a name"),
        (["create", "--user", "agent", "--name", "x", "--expires-days", "0"], "--expires-days must be 1 or more."),
        (["revoke", "--key", "hcrm_nothing"], "No token starts with hcrm_nothing."),
    ],
)
def test_the_command_refuses_bad_input_with_one_line(agent, args, message):
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        call_command("api_token", *args)
    assert not ApiToken.objects.exists()


PAGE = reverse("api_tokens")


def token_form(client, **fields) -> dict:
    """The page's form as a browser sends it: with the one-time value the page gave it."""
    return {"form_nonce": client.get(PAGE).context["form_nonce"], **fields}


def test_a_user_makes_sees_and_revokes_their_own_tokens_on_their_page(client, agent, django_user_model):
    assert client.get(PAGE).status_code == 302  # login first
    client.force_login(agent)
    form = token_form(client, name="Muhasebe", expires_on="")
    response = client.post(PAGE, form)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = response.context["created"]
    api = Client()  # without the page's session
    assert secret in response.content.decode() and api.get(EVENTS, **bearer(secret)).status_code == 200
    again = client.get(PAGE).content.decode()
    assert secret not in again and "Muhasebe" in again  # shown once
    resent = client.post(PAGE, form, follow=True)  # the answer reloaded: the same form again
    assert ApiToken.objects.count() == 1 and not resent.context["created"]
    assert "sent already" in resent.content.decode()

    other = django_user_model.objects.create_user(username="other")
    others, _ = api_token_create(user=other, name="theirs")
    client.post(reverse("api_token_revoke"), {"key": others.token_key})
    assert ApiToken.objects.filter(pk=others.pk).exists()  # not theirs to revoke
    mine = ApiToken.objects.get(user=agent)
    client.post(reverse("api_token_revoke"), {"key": mine.token_key})
    assert not ApiToken.objects.filter(user=agent).exists()
    assert api.get(EVENTS, **bearer(secret)).status_code == 401
    assert [line.change_message for line in LogEntry.objects.order_by("pk")] == [
        "API token created.",
        "API token revoked.",
    ]


def test_the_page_refuses_a_blank_name_and_a_past_day(client, agent):
    client.force_login(agent)
    assert client.post(PAGE, token_form(client, name=" ")).status_code == 400
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    response = client.post(PAGE, token_form(client, name="x", expires_on=yesterday))
    assert response.status_code == 400 and "future" in response.content.decode()
    today = client.post(PAGE, token_form(client, name="x", expires_on=timezone.localdate().isoformat()))
    assert today.status_code == 200 and ApiToken.objects.get().expiry > timezone.now()  # until the day's end
    assert not response.context["created"]


def test_staff_make_a_token_for_a_service_user_in_the_admin_shown_once(staff_client, client, django_user_model):
    service = django_user_model.objects.create_user(username="erp-sync")
    response = staff_client.post(reverse("admin:accounts_apitoken_add"), {"user": service.pk, "name": "ERP"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    token = ApiToken.objects.get()
    assert token.user == service and token.name == "ERP" and secret in response.content.decode()
    assert LogEntry.objects.get().object_id == str(token.pk)
    change = staff_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk])).content.decode()
    assert secret not in change and token.token_key in change
    refused = staff_client.post(reverse("admin:accounts_apitoken_add"), {"user": service.pk, "name": " "})
    assert refused.status_code == 200 and ApiToken.objects.count() == 1  # the form again, with the error
    staff_client.post(reverse("admin:accounts_apitoken_delete", args=[token.pk]), {"post": "yes"})
    assert not ApiToken.objects.exists()
