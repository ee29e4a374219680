"""Every URL the project serves refuses an anonymous request (401/403, or the login page for pages), except the
few that must be public. New URLs are checked by being added: the list is read from the URL resolver."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

pytestmark = pytest.mark.django_db

# Public by design: the provider's webhook (it checks its signature), the health checks, the login and password
# reset pages, the language switch, the favicon, and the signed links of media sent to the provider.
PUBLIC = {
    "messaging:twilio-webhook",
    "healthz",
    "readyz",
    "login",
    "logout",  # logging out when not logged in only leads back to the login page
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "set_language",
    "favicon",
    "messaging:public-media",
    "admin:login",
    "admin:logout",
}
LOGIN_PAGES = ("/accounts/login/", "/admin/login/")
SAMPLES = {"uuid": str(uuid.UUID(int=7)), "int": "1", "str": "x", "slug": "x", "path": "x"}


def _sample(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda match: SAMPLES[match.group(1) or "str"], route)


def _regex_sample(regex: str) -> str:
    """A path matching a regex route (the admin's, the API router's): each group a sample value it accepts."""

    def group(match):
        return next(value for value in (*SAMPLES.values(), "leads") if re.fullmatch(match.group(2), value))

    text = re.sub(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))+)\)", group, regex)
    return text.replace("^", "").replace("$", "").replace("\\", "")


def every_url(patterns=None, prefix="/", namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        part = pattern.pattern
        text = _sample(str(part)) if isinstance(part, RoutePattern) else _regex_sample(part.regex.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from every_url(pattern.url_patterns, prefix + text, inner)
        elif isinstance(pattern, URLPattern):
            name = ":".join(filter(None, [namespace, pattern.name])) if pattern.name else ""
            yield name, prefix + text


def refusal(client, response, hops: int = 3) -> str | None:
    """None when the answer refuses an anonymous caller (a redirect that ends at a login page does), else what it
    did."""
    if response.status_code in {401, 403}:
        return None
    if response.status_code == 302 and response["Location"].startswith(LOGIN_PAGES):
        return None
    if response.status_code == 302 and response["Location"].startswith("/") and hops:
        return refusal(client, client.get(response["Location"]), hops - 1)
    return f"{response.status_code} {response.get('Location', '')}"


def test_the_resolver_is_read_whole():
    names = {name for name, _ in every_url()}
    for expected in ("inbox:index", "api:v1:schema", "api:v1:docs", "admin:index", "api:events", "healthz"):
        assert expected in names


def test_an_anonymous_request_is_refused_everywhere_but_the_public_urls():
    client = Client(raise_request_exception=False)
    open_urls = []
    for name, url in every_url():
        if name in PUBLIC:
            continue
        answers = {method: getattr(client, method)(url) for method in ("get", "post")}
        problems = {method: refusal(client, answer) for method, answer in answers.items()}
        # A method the URL does not serve may say so (405), as long as the one it serves refuses.
        refused = [method for method, problem in problems.items() if problem is None]
        for method, problem in problems.items():
            if problem and not (answers[method].status_code == 405 and refused):
                open_urls.append(f"{method.upper()} {url} ({name or 'unnamed'}): {problem}")
    assert open_urls == [], "\n".join(open_urls)


def test_the_public_urls_are_still_there():
    names = {name for name, _ in every_url()}
    assert names >= PUBLIC, PUBLIC - names
