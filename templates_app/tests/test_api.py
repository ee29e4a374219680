"""The templates API under /api/v1/: listed with their approval, previewed for a lead, synced; errors in one format."""

import uuid

import pytest
from django.urls import reverse

from accounts.roles import AGENTS
from accounts.services import api_token_create
from leads.tests.factories import LeadFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api:v1:template-list")
SYNC = reverse("api:v1:templates-sync")


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='t')[1]}"}


@pytest.fixture
def agent(user_in_role):
    return user_in_role("agent", AGENTS)


def test_list_and_retrieve_with_approval_filtered_by_status(client, agent, django_assert_max_num_queries):
    approved = TemplateFactory(name="a_onay", content="Merhaba {{1}}")
    TemplateFactory(name="b_bekleyen", approval_status="pending")
    TemplateFactory(name="c_kapali", status="inactive", content_sid=None)
    headers = bearer(agent)
    with django_assert_max_num_queries(8):  # the token (4), the permissions (2), then the count and the page
        data = client.get(LIST, **headers).json()
    assert [row["name"] for row in data["results"]] == ["a_onay", "b_bekleyen", "c_kapali"]
    first = data["results"][0]
    assert (first["approval_status"], first["content"], first["content_sid"]) == (
        "approved",
        "Merhaba {{1}}",
        approved.content_sid,
    )
    assert [r["name"] for r in client.get(LIST, {"approval_status": "pending"}, **headers).json()["results"]] == [
        "b_bekleyen"
    ]
    assert [r["name"] for r in client.get(LIST, {"status": "inactive"}, **headers).json()["results"]] == ["c_kapali"]
    bad = client.get(LIST, {"status": "\x00"}, **headers)
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    one = client.get(reverse("api:v1:template-detail", args=[approved.pk]), **headers)
    assert one.json()["id"] == str(approved.pk)
    assert client.get(reverse("api:v1:template-detail", args=[uuid.uuid4()]), **headers).status_code == 404
    assert client.get("/api/v1/templates/nope", **headers).json()["error"]["code"] == "not_found"


def test_preview_under_v1_and_the_spec_path_is_the_same_view(client, agent):
    lead = LeadFactory(name="Can")
    template = TemplateFactory(content="Merhaba {{1}}, kod {{4}}")
    headers = bearer(agent)
    for url in (
        reverse("api:v1:template-preview", args=[template.pk]),
        reverse("api:template-preview", args=[template.pk]),
    ):
        data = client.get(url, {"lead": str(lead.pk), "param": "K7"}, **headers).json()
        assert data == {"text": "Merhaba Can, kod K7", "missing": []}
        for bad in ({}, {"lead": "nope"}, {"lead": str(uuid.uuid4())}, {"lead": str(lead.pk), "param": "a\x00"}):
            response = client.get(url, bad, **headers)
            error = response.json()["error"]
            assert response.status_code == 400 and error["code"] == "validation_error", bad
            assert set(error["fields"]) <= {"lead", "param"} and error["fields"]
    assert (
        client.get(
            reverse("api:v1:template-preview", args=[uuid.uuid4()]), {"lead": str(lead.pk)}, **headers
        ).status_code
        == 404
    )


def test_sync_failure_is_502_in_the_error_format(client, django_user_model, settings):
    settings.MESSAGING_BACKEND = "messaging.backends.locmem.LocmemBackend"  # no template catalogue
    staff = django_user_model.objects.create_user(username="s", is_staff=True, is_superuser=True)
    response = client.post(SYNC, **bearer(staff))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_unavailable"
    assert client.get(SYNC, **bearer(staff)).status_code == 405


@pytest.mark.parametrize(
    ("method", "url", "perms"),
    [
        ("get", LIST, ["templates_app.view_template"]),
        ("get", "preview", ["templates_app.view_template", "leads.view_lead"]),
        ("post", SYNC, ["templates_app.change_template"]),
    ],
)
def test_permissions(client, user_in_role, django_user_model, settings, method, url, perms):
    from django.contrib.auth.models import Permission

    settings.MESSAGING_BACKEND = "messaging.backends.simulator.SimulatorBackend"
    lead = LeadFactory()
    if url == "preview":
        url = reverse("api:v1:template-preview", args=[TemplateFactory().pk]) + f"?lead={lead.pk}"
    call = getattr(client, method)
    anonymous = call(url)
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Bearer")
    if method == "post":
        assert call(url, **bearer(user_in_role("agent", AGENTS))).status_code == 403
    staff = django_user_model.objects.create_user(username="staff-without", is_staff=True)
    assert call(url, **bearer(staff)).status_code == 403
    for dotted in perms:
        app_label, codename = dotted.split(".")
        staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    assert call(url, **bearer(staff)).status_code in {200, 502}
    gone = django_user_model.objects.create_user(username="gone", is_superuser=True)
    headers = bearer(gone)
    gone.is_active = False
    gone.save()
    assert call(url, **headers).status_code == 401
