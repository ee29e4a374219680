"""A database that is really down answers 503 with a short message on every page and endpoint, never a 500."""

import socket

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="points the connection at a server that is down"),
]


def dead_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])  # closed again: nothing listens there


@pytest.fixture
def database_down():
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=dead_port())
    yield
    connection.close()
    connection.settings_dict.update(HOST=saved[0], PORT=saved[1])


@pytest.fixture
def agent(django_user_model):
    user = django_user_model.objects.create_user(username="agent", password="secret-pass", is_superuser=True)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_pages_and_the_api_answer_503_when_the_database_is_down(agent, database_down):
    anonymous = Client(raise_request_exception=False)
    responses = {
        "inbox": agent.get(reverse("inbox:index")),
        "login page, signed in": agent.get(reverse("login")),
        "login": anonymous.post(reverse("login"), {"username": "agent", "password": "secret-pass"}),
        "admin": agent.get(reverse("admin:index")),
    }
    for name, response in responses.items():
        assert response.status_code == 503, name
        assert response["Retry-After"] == "30"
        assert "The database cannot be reached at the moment." in response.content.decode(), name

    api = agent.get(reverse("api:webhook-diagnostics"))
    assert api.status_code == 503
    assert api.json()["error"] == {
        "code": "database_unavailable",
        "message": "The database cannot be reached at the moment. Please try again in a minute.",
        "fields": {},
    }
    assert anonymous.get(reverse("healthz")).status_code == 200


def test_other_errors_stay_500(agent, monkeypatch):
    from messaging import api

    monkeypatch.setattr(api, "webhook_diagnostics", lambda: 1 / 0)
    response = agent.get(reverse("api:webhook-diagnostics"))
    assert response.status_code == 500
    assert "database" not in response.content.decode()
