"""The site-wide Content Security Policy: strict on our pages, inline styles for the admin alone."""

import pytest

from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

PAGE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", ["/inbox/", "/accounts/login/", "/lead/"])
def test_our_pages_get_the_strict_policy(staff_client, path):
    lead = LeadFactory()
    path = f"/inbox/{lead.pk}/" if path == "/lead/" else path
    policy = directives(staff_client.get(path))
    for name, values in PAGE_POLICY.items():
        assert policy[name] == values, name
    header = staff_client.get(path)["Content-Security-Policy"]
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header


@pytest.mark.parametrize("path", ["/admin/", "/admin/leads/lead/", "/admin/templates_app/template/", "/admin/login/"])
def test_the_admin_alone_adds_inline_styles(staff_client, path):
    policy = directives(staff_client.get(path))
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_htmx_is_told_not_to_inject_its_indicator_style(staff_client):
    page = staff_client.get("/inbox/").content.decode()
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>""" in page
    head = page.split("</head>", 1)[0]
    assert "<style" not in head and "<script>" not in head
