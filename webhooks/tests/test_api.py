"""The webhooks API: subscriptions' CRUD, ping, a subscription's deliveries and a resend, each with its permission."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.roles import AGENTS, OPERATORS
from accounts.services import api_token_create
from webhooks.models import Delivery, Subscription
from webhooks.services import subscription_ping

from .factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/webhooks"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def operator_token(user_in_role):
    return bearer(api_token_create(user=user_in_role("op", OPERATORS, is_staff=True), name="erp")[1])


@pytest.fixture
def api(client, operator_token):
    """A client speaking JSON with an operator's token."""

    class Api:
        def get(self, url, data=None):
            return client.get(url, data, **operator_token)

        def post(self, url, body=None, **headers):
            return client.post(url, body or {}, content_type="application/json", **operator_token, **headers)

        def patch(self, url, body):
            return client.patch(url, body, content_type="application/json", **operator_token)

        def delete(self, url):
            return client.delete(url, **operator_token)

    return Api()


def test_create_returns_the_secret_once(api, receiver):
    response = api.post(
        LIST, {"name": "ERP", "url": receiver.url("/ok"), "events": ["lead.created", "message.received"]}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    subscription = Subscription.objects.get()
    assert body["secret"] == subscription.secret and body["secret"].startswith("whsec_")
    assert body["events"] == ["message.received", "lead.created"]  # in the documented order
    assert body["is_active"] is True and body["failure_count"] == 0
    assert subscription.created_by.username == "op"
    assert "secret" not in api.get(f"{LIST}/{subscription.pk}").json()
    assert "secret" not in api.get(LIST).json()["results"][0]
    assert LogEntry.objects.filter(object_id=str(subscription.pk), change_message="Created through the API.").exists()


def test_a_given_secret_is_kept_and_a_short_one_refused(api, receiver):
    url = receiver.url("/ok")
    short = api.post(LIST, {"name": "ERP", "url": url, "events": ["lead.created"], "secret": "short"})
    assert short.status_code == 400 and "secret" in short.json()["error"]["fields"]
    chosen = "a-secret-of-our-own-choosing"
    response = api.post(LIST, {"name": "ERP", "url": url, "events": ["lead.created"], "secret": chosen})
    assert response.json()["secret"] == chosen == Subscription.objects.get().secret


def test_list_and_read(api, django_assert_max_num_queries):
    SubscriptionFactory.create_batch(5)
    with django_assert_max_num_queries(8):  # the token (4: its user, its use), the permissions (2), count, rows
        response = api.get(LIST)
    assert response.status_code == 200
    assert response.json()["count"] == 5
    one = Subscription.objects.first()
    assert api.get(f"{LIST}/{one.pk}").json()["name"] == one.name
    assert api.get(f"{LIST}/{UNKNOWN}").status_code == 404
    assert api.get(f"{LIST}/not-a-uuid").json()["error"]["code"] == "not_found"


def test_change_and_enable_again(api, receiver):
    subscription = SubscriptionFactory(
        url=receiver.url("/ok"),
        is_active=False,
        disabled_reason="Disabled after 10 failed deliveries",
        failure_count=10,
    )
    response = api.patch(f"{LIST}/{subscription.pk}", {"is_active": True, "name": "ERP (new)"})
    assert response.status_code == 200, response.json()
    assert response.json()["disabled_reason"] == "" and response.json()["failure_count"] == 0
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.name == "ERP (new)"
    old_secret = subscription.secret
    api.patch(f"{LIST}/{subscription.pk}", {"secret": "a-brand-new-secret-value"})
    subscription.refresh_from_db()
    assert subscription.secret == "a-brand-new-secret-value" != old_secret
    assert api.patch(f"{LIST}/{subscription.pk}", {"events": []}).status_code == 400
    assert api.patch(f"{LIST}/{subscription.pk}", {"events": ["ping"]}).status_code == 400


def test_delete(api):
    subscription = SubscriptionFactory()
    assert api.delete(f"{LIST}/{subscription.pk}").status_code == 204
    assert not Subscription.objects.exists()
    assert LogEntry.objects.filter(object_id=str(subscription.pk), change_message="Deleted through the API.").exists()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://files.example.com/in", "only http and https"),
        ("http://localhost/in", "loopback"),
        ("http://127.0.0.1:8000/in", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://10.0.0.5/in", "private"),
        ("http://[::1]/in", "loopback"),
        ("http://user:pw@example.com/in", "credentials"),
    ],
)
def test_urls_the_guard_refuses_are_refused_at_save_time(api, url, words):
    response = api.post(LIST, {"name": "x", "url": url, "events": ["lead.created"]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "url_refused" and words in error["message"]
    assert list(error["fields"]) == ["url"]
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "url": "https://example.com/" + "a" * 3000, "events": ["lead.created"]},
        {"name": "x", "url": "https://exa\x00mple.com/", "events": ["lead.created"]},
        {"name": "x\x00", "url": "https://example.com/", "events": ["lead.created"]},
        {"name": "x", "url": "not a url", "events": ["lead.created"]},
        {"name": "x", "url": 12, "events": "lead.created"},
        {"name": "x", "url": "https://example.com/", "events": ["lead.created"] * 9},
        {"name": "", "url": "", "events": []},
        {"name": "x" * 500, "url": "https://example.com/", "events": ["lead.created"]},
        {},
    ],
)
def test_hostile_input_is_a_400_in_the_error_format(api, body):
    response = api.post(LIST, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"validation_error", "url_refused"}
    assert not Subscription.objects.exists()


def test_a_private_address_the_deployment_allows_is_accepted(api, settings):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["10.0.5.0/24"]
    response = api.post(LIST, {"name": "in-house", "url": "http://10.0.5.7/hooks", "events": ["lead.created"]})
    assert response.status_code == 201


def test_https_only_refuses_http_at_save_time(api, settings):
    settings.WEBHOOK_HTTPS_ONLY = True
    response = api.post(LIST, {"name": "x", "url": "http://example.com/in", "events": ["lead.created"]})
    assert response.status_code == 400 and "https" in response.json()["error"]["message"]


def test_ping_answers_with_the_delivery(api, receiver):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    response = api.post(f"{LIST}/{subscription.pk}/ping")
    assert response.status_code == 200
    body = response.json()
    assert body["event"] == "ping" and body["status"] == "succeeded" and body["response_status"] == 200
    assert body["id"] == receiver.requests[0]["headers"]["X-HappyCRM-Delivery"]
    assert api.post(f"{LIST}/{UNKNOWN}/ping").status_code == 404


def test_a_subscriptions_deliveries_page_by_page(api, receiver, django_assert_max_num_queries):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    for _ in range(3):
        subscription_ping(subscription=subscription)
    Delivery.objects.create(subscription=SubscriptionFactory(), event="lead.created", payload={})  # another's
    url = f"{LIST}/{subscription.pk}/deliveries"
    with django_assert_max_num_queries(9):  # the token and permissions (6), the subscription, count, rows
        response = api.get(url, {"page_size": 2})
    body = response.json()
    assert response.status_code == 200 and body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert body["results"][0]["payload"]["event"] == "ping"
    assert api.get(url, {"status": "failed"}).json()["count"] == 0
    assert api.get(url, {"event": "ping"}).json()["count"] == 3
    assert api.get(url, {"status": "nonsense"}).status_code == 400
    assert api.get(url, {"page": 99}).status_code == 404
    assert api.get(f"{LIST}/{UNKNOWN}/deliveries").status_code == 404


def test_resend_a_delivery(api, receiver, django_capture_on_commit_callbacks):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    original = Delivery.objects.create(
        subscription=subscription, event="lead.created", event_id=5, payload={"event": "lead.created"}, status="failed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/webhook-deliveries/{original.delivery_id}/resend", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201
    copy = Delivery.objects.get(delivery_id=response.json()["id"])
    assert copy.event_id == 5 and copy.payload == original.payload
    assert len(receiver.requests) == 1
    again = api.post(f"/api/v1/webhook-deliveries/{original.delivery_id}/resend", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json()["id"] == str(copy.delivery_id)
    assert Delivery.objects.count() == 2, "the same Idempotency-Key resends once"
    assert api.get(f"/api/v1/webhook-deliveries/{copy.delivery_id}").json()["event_id"] == 5
    assert api.post(f"/api/v1/webhook-deliveries/{UNKNOWN}/resend").status_code == 404
    Subscription.objects.update(is_active=False)
    refused = api.post(f"/api/v1/webhook-deliveries/{original.delivery_id}/resend")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "subscription_disabled"


OPERATIONS = [
    ("get", LIST, "webhooks.view_subscription"),
    ("get", f"{LIST}/{{pk}}", "webhooks.view_subscription"),
    ("post", LIST, "webhooks.add_subscription"),
    ("patch", f"{LIST}/{{pk}}", "webhooks.change_subscription"),
    ("delete", f"{LIST}/{{pk}}", "webhooks.delete_subscription"),
    ("post", f"{LIST}/{{pk}}/ping", "webhooks.change_subscription"),
    ("get", f"{LIST}/{{pk}}/deliveries", "webhooks.view_delivery"),
    ("get", "/api/v1/webhook-deliveries/{delivery}", "webhooks.view_delivery"),
    ("post", "/api/v1/webhook-deliveries/{delivery}/resend", "webhooks.change_subscription"),
]


@pytest.fixture
def targets():
    subscription = SubscriptionFactory()
    delivery = Delivery.objects.create(subscription=subscription, event="lead.created", payload={})
    return {"pk": subscription.pk, "delivery": delivery.delivery_id}


def call(client, method, url, **headers):
    return getattr(client, method)(url, {}, content_type="application/json", **headers)


@pytest.mark.parametrize(("method", "path", "needed"), OPERATIONS)
def test_who_may_do_what(method, path, needed, targets, user_in_role, django_user_model):
    url = path.format(**targets)
    assert call(Client(), method, url).status_code == 401
    assert call(Client(), method, url)["WWW-Authenticate"] == "Bearer"

    agent = user_in_role("agent", AGENTS)
    assert call(Client(), method, url, **bearer(api_token_create(user=agent, name="a")[1])).status_code == 403

    staff = django_user_model.objects.create_user(username="staff-without", is_staff=True)
    assert call(Client(), method, url, **bearer(api_token_create(user=staff, name="s")[1])).status_code == 403

    # Every permission the operation needs but the one tested: still refused.
    others = {perm for _, _, perm in OPERATIONS}
    partial = django_user_model.objects.create_user(username="partial")
    for dotted in sorted(others - {needed}):
        partial.user_permissions.add(Permission.objects.get(codename=dotted.split(".")[1]))
    assert call(Client(), method, url, **bearer(api_token_create(user=partial, name="p")[1])).status_code == 403

    leaver = user_in_role("leaver", OPERATORS, is_staff=True)
    _, secret = api_token_create(user=leaver, name="l")
    leaver.is_active = False
    leaver.save()
    assert call(Client(), method, url, **bearer(secret)).status_code == 401


def test_an_operator_may_do_everything(targets, operator_token, settings, receiver):
    Subscription.objects.update(url=receiver.url("/ok"))
    for method, path, _ in OPERATIONS:
        response = call(Client(), method, path.format(**targets), **operator_token)
        assert response.status_code not in (401, 403), (method, path, response.status_code)
