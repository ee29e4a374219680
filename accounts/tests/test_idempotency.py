"""Idempotency-Key: the same key from the same user within a day gets the first answer, and the write runs once."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts.idempotency import ABANDONED_AFTER, request_fingerprint
from accounts.models import IdempotentRequest
from accounts.services import api_token_create, idempotent_requests_prune

from . import idempotent_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls("accounts.tests.idempotent_urls")]


@pytest.fixture(autouse=True)
def _runs():
    idempotent_urls.RUNS.clear()


@pytest.fixture
def api(django_user_model):
    user = django_user_model.objects.create_user(username="integration")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='sync')[1]}")
    client.user = user
    return client


def post(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/write", body, content_type="application/json", **headers)


def test_the_same_key_twice_answers_the_first_answer_and_runs_once(api):
    first = post(api, {"value": "a"}, key="k-1")
    again = post(api, {"value": "a"}, key="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() == {"run": 1, "echo": "a"}
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert len(idempotent_urls.RUNS) == 1
    assert post(api, {"value": "a"}, key="k-2").json()["run"] == 2  # another key is another write
    assert post(api, {"value": "a"}).json()["run"] == 3  # no key: no protection
    assert post(api, {"value": "a"}).json()["run"] == 4


def test_the_same_key_with_another_request_is_422(api):
    post(api, {"value": "a"}, key="k")
    other = post(api, {"value": "b"}, key="k")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(idempotent_urls.RUNS) == 1


def test_a_repeat_while_the_first_runs_is_409_and_a_dead_first_is_taken_over_later(api):
    request = type("R", (), {"method": "POST", "data": {"value": "a"}, "get_full_path": lambda self: "/write"})()
    running = IdempotentRequest.objects.create(user=api.user, key="k", fingerprint=request_fingerprint(request))
    busy = post(api, {"value": "a"}, key="k")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "idempotency_key_in_use"
    assert idempotent_urls.RUNS == []
    # Its process died (nothing it did was committed): past ABANDONED_AFTER a retry does the work.
    IdempotentRequest.objects.filter(pk=running.pk).update(created_at=timezone.now() - ABANDONED_AFTER * 2)
    assert post(api, {"value": "a"}, key="k").status_code == 201
    assert len(idempotent_urls.RUNS) == 1 and IdempotentRequest.objects.get().status_code == 201


def test_keys_are_per_user(api, django_user_model):
    other_user = django_user_model.objects.create_user(username="other")
    other = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=other_user, name='x')[1]}")
    post(api, {"value": "a"}, key="k")
    theirs = post(other, {"value": "a"}, key="k")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert len(idempotent_urls.RUNS) == 2


def test_a_refusal_or_a_server_error_is_not_kept_so_a_corrected_retry_runs(api):
    refused = post(api, {"refuse": True}, key="k")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "refused"
    assert not IdempotentRequest.objects.exists()
    assert post(api, {"value": "a"}, key="k").status_code == 201  # the same key, the request put right
    api.raise_request_exception = False
    assert post(api, {"crash": True}, key="k3").status_code == 500
    assert not IdempotentRequest.objects.filter(key="k3").exists()


def test_an_answer_older_than_a_day_is_forgotten(api):
    post(api, {"value": "a"}, key="k")
    IdempotentRequest.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    assert "Idempotent-Replayed" not in post(api, {"value": "a"}, key="k")
    assert len(idempotent_urls.RUNS) == 2
    IdempotentRequest.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    assert idempotent_requests_prune(older_than=datetime.timedelta(0)) == 1  # never less than the promised day


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "bad\x01key"])
def test_a_malformed_key_is_400(api, key):
    response = post(api, {"value": "a"}, key=key)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_idempotency_key"
    assert idempotent_urls.RUNS == []
