"""What every API endpoint shares: one error format, 401 with WWW-Authenticate, throttling through the shared
cache with 429 and Retry-After, and the OpenAPI schema and its documentation behind a login."""

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.roles import AGENTS
from accounts.services import api_token_create
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events"
SCHEMA = reverse("api:v1:schema")


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def agent(user_in_role):
    return user_in_role("agent", AGENTS)


@pytest.fixture
def secret(agent):
    return api_token_create(user=agent, name="sync")[1]


def test_every_api_error_has_one_format(client, secret):
    def error(response, status):
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
        return body["error"]

    assert error(client.get("/api/v1/no-such-thing"), 404)["code"] == "not_found"
    assert error(client.get("/api/no-such-thing"), 404)["code"] == "not_found"
    anonymous = client.get(EVENTS)
    assert error(anonymous, 401)["code"] == "not_authenticated" and anonymous["WWW-Authenticate"] == "Bearer"
    assert error(client.delete(EVENTS, **bearer(secret)), 405)["code"] == "method_not_allowed"
    assert error(client.get(EVENTS, {"cursor": "x"}, **bearer(secret)), 400)["fields"]["cursor"]
    broken = client.post(
        reverse("api:v1:lead-messages", args=[LeadFactory().pk]),
        "{not",
        content_type="application/json",
        **bearer(secret),
    )
    assert error(broken, 400)["code"] == "parse_error"
    assert error(client.get("/api/v1/leads", {"page_size": "x"}, **bearer(secret)), 400)["fields"]["page_size"]


def test_a_user_without_the_permission_gets_403_and_messages_follow_the_language(client, django_user_model):
    nobody = django_user_model.objects.create_user(username="nobody")
    token = api_token_create(user=nobody, name="x")[1]
    english = client.get(EVENTS, **bearer(token))
    turkish = client.get(EVENTS, HTTP_ACCEPT_LANGUAGE="tr", **bearer(token))
    assert english.status_code == turkish.status_code == 403
    assert english.json()["error"]["code"] == turkish.json()["error"]["code"] == "permission_denied"
    assert english.json()["error"]["message"] != turkish.json()["error"]["message"]


@pytest.fixture
def throttled(settings):
    settings.API_THROTTLE_TOKEN = "3/minute"
    settings.API_THROTTLE_USER = "5/minute"
    cache.clear()
    yield
    cache.clear()


def test_a_token_and_its_user_are_throttled_with_429_and_retry_after(client, agent, throttled):
    first, second = (api_token_create(user=agent, name=name)[1] for name in ("a", "b"))
    assert [client.get(EVENTS, **bearer(first)).status_code for _ in range(3)] == [200, 200, 200]
    over = client.get(EVENTS, **bearer(first))
    assert over.status_code == 429 and over.json()["error"]["code"] == "throttled"
    assert 1 <= int(over["Retry-After"]) <= 60
    # Another token of the same user has its own count, within the user's: the first's four asked, one more.
    assert [client.get(EVENTS, **bearer(second)).status_code for _ in range(2)] == [200, 429]
    client.force_login(agent)
    assert client.get(EVENTS).status_code == 429  # the pages' session counts against the same user


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="REDIS_URL is not set (CI sets it)")
def test_the_counts_are_kept_in_redis_where_every_web_process_sees_them(client, agent, throttled):
    import redis

    token = api_token_create(user=agent, name="a")[1]
    client.get(EVENTS, **bearer(token))
    keys = redis.Redis.from_url(django_settings.REDIS_URL).keys("*throttle_token_*")
    assert keys, "the token's count is not in Redis"


def test_a_cache_that_cannot_be_reached_throttles_nothing(client, secret, throttled, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.cache.get", down)
    assert [client.get(EVENTS, **bearer(secret)).status_code for _ in range(5)] == [200] * 5


def test_the_schema_and_the_docs_need_a_login_or_a_token(client, secret):
    for url in (SCHEMA, reverse("api:v1:docs"), reverse("api:v1:redoc")):
        assert client.get(url).status_code == 401, url
    schema = client.get(SCHEMA, {"format": "json"}, **bearer(secret))
    assert schema.status_code == 200
    body = schema.json()
    assert body["openapi"].startswith("3.") and "Error" in body["components"]["schemas"]
    assert body["paths"] and all(path.startswith("/api/v1/") for path in body["paths"])
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            assert {"401", "403", "429"} <= set(operation["responses"]), f"{method} {path}"
            assert operation["responses"]["429"]["headers"]["Retry-After"]


def test_the_docs_load_everything_from_our_own_static_files(client, secret):
    client.force_login(api_token_create.__globals__["ApiToken"].objects.get().user)
    swagger = client.get(reverse("api:v1:docs"))
    redoc = client.get(reverse("api:v1:redoc"))
    for page in (swagger, redoc):
        assert page.status_code == 200
        html = page.content.decode()
        assert "https://" not in html and "http://" not in html.replace("http://testserver", "")
        assert "'unsafe-inline'" in page["Content-Security-Policy"].split("style-src")[1].split(";")[0]
        assert "script-src 'self'" in page["Content-Security-Policy"]  # no inline script allowed
    assert "swagger-ui-dist/swagger-ui-bundle.js" in swagger.content.decode()
    assert "redoc/bundles/redoc.standalone.js" in redoc.content.decode()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
    init = client.get(reverse("api:v1:docs"), {"script": ""})  # Swagger UI's start, a script file of its own
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()


def test_the_spec_paths_still_answer():
    assert Client().post("/api/templates/sync-missing").status_code == 401
    assert Client().get("/api/messages/events").status_code == 401
