"""The labels resource of the API (through label_save and label_delete, as the admin) and a lead's labels set at
once (through lead_labels_set, as the inbox): names unique whatever their case, the palette, permissions."""

import pytest
from django.urls import reverse

from accounts.roles import AGENTS, OPERATORS
from accounts.services import api_token_create
from leads.models import Label, LabelColour, Lead
from leads.tests.factories import LabelFactory, LeadFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db

LABELS = reverse("api:v1:label-list")
JSON = "application/json"


def label_url(label) -> str:
    return reverse("api:v1:label-detail", args=[label.pk])


def lead_labels_url(lead) -> str:
    return reverse("api:v1:lead-labels", args=[lead.pk])


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def api(client, user_in_role):
    """An operator's token: labels managed, leads edited."""
    _, secret = api_token_create(user=user_in_role("operator", OPERATORS, is_staff=True), name="sync")
    client.defaults.update(bearer(secret))
    return client


@pytest.fixture
def agent_api(client, user_in_role):
    """An agent's token: labels read, leads' labels set."""
    _, secret = api_token_create(user=user_in_role("agent", AGENTS), name="sync")
    client.defaults.update(bearer(secret))
    return client


def error(response, status=400) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_labels_are_listed_by_name_and_read_one_by_one(api):
    wedding, vip = LabelFactory(name="Wedding", colour=LabelColour.PINK), LabelFactory(name="VIP")
    page = api.get(LABELS).json()
    assert page["count"] == 2
    assert page["results"] == [
        {"id": str(vip.pk), "name": "VIP", "colour": LabelColour.GREY},
        {"id": str(wedding.pk), "name": "Wedding", "colour": LabelColour.PINK},
    ]
    assert api.get(label_url(wedding)).json() == page["results"][1]
    assert error(api.get(LABELS + "/not-a-uuid"), 404)["code"] == "not_found"


def test_create_change_and_delete_through_the_services(api):
    created = api.post(LABELS, {"name": "  Düğün   2027 ", "colour": LabelColour.GREEN}, content_type=JSON)
    assert created.status_code == 201, created.content
    label = Label.objects.get()
    assert created.json() == {"id": str(label.pk), "name": "Düğün 2027", "colour": LabelColour.GREEN}
    assert api.post(LABELS, {"name": "VIP"}, content_type=JSON).json()["colour"] == LabelColour.GREY

    lead = LeadFactory()
    lead.labels.add(label)
    changed = api.patch(label_url(label), {"colour": LabelColour.BLUE}, content_type=JSON)
    assert changed.status_code == 200 and changed.json()["colour"] == LabelColour.BLUE
    assert Label.objects.get(pk=label.pk).name == "Düğün 2027"

    Event.objects.all().delete()
    assert api.delete(label_url(label)).status_code == 204
    assert not Label.objects.filter(pk=label.pk).exists() and not lead.labels.exists()
    # Taken off its leads through their one path: the screens showing the lead hear of it.
    assert list(Event.objects.filter(type=Event.Type.LEAD_CHANGED).values_list("lead_id", flat=True)) == [lead.pk]
    assert error(api.get(label_url(label)), 404)["code"] == "not_found"


def test_a_name_another_label_has_whatever_its_case_is_a_duplicate(api):
    existing = LabelFactory(name="Düğün")
    body = error(api.post(LABELS, {"name": "DUGUN"}, content_type=JSON))
    assert body["code"] == "duplicate"
    assert body["message"] == "A label with this name exists already." and body["fields"] == {"name": [body["message"]]}
    other = LabelFactory(name="VIP")
    assert error(api.patch(label_url(other), {"name": "düğün"}, content_type=JSON))["code"] == "duplicate"
    assert api.patch(label_url(existing), {"name": "DÜĞÜN"}, content_type=JSON).status_code == 200  # its own name
    assert Label.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "NUL\x00"}, "name"),
        ({"name": 7}, "name"),
        ({"name": "VIP", "colour": "#000000"}, "colour"),
        ({"name": "VIP", "colour": "red"}, "colour"),
        ({"name": "VIP", "colour": None}, "colour"),
    ],
)
def test_bad_label_input_is_400_and_writes_nothing(api, body, field):
    assert field in error(api.post(LABELS, body, content_type=JSON))["fields"]
    assert not Label.objects.exists()


def test_create_with_an_idempotency_key_makes_one_label(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "label-vip"}
    first = api.post(LABELS, {"name": "VIP"}, content_type=JSON, **headers)
    again = api.post(LABELS, {"name": "VIP"}, content_type=JSON, **headers)
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert Label.objects.count() == 1


def test_agents_read_labels_and_set_a_leads_but_do_not_manage_them(agent_api):
    label = LabelFactory(name="VIP")
    lead = LeadFactory()
    assert agent_api.get(LABELS).status_code == 200
    assert agent_api.get(label_url(label)).status_code == 200
    assert error(agent_api.post(LABELS, {"name": "New"}, content_type=JSON), 403)["code"] == "permission_denied"
    assert error(agent_api.patch(label_url(label), {"name": "X"}, content_type=JSON), 403)["code"] == (
        "permission_denied"
    )
    assert error(agent_api.delete(label_url(label)), 403)["code"] == "permission_denied"
    assert agent_api.put(lead_labels_url(lead), {"labels": [str(label.pk)]}, content_type=JSON).status_code == 200
    assert Label.objects.get().name == "VIP" and list(lead.labels.all()) == [label]


def test_nobody_without_a_token_or_the_permission(client, django_user_model):
    label, lead = LabelFactory(), LeadFactory()
    for method, url in (("get", LABELS), ("get", label_url(label)), ("put", lead_labels_url(lead))):
        assert getattr(client, method)(url, {}, content_type=JSON).status_code == 401
    _, secret = api_token_create(user=django_user_model.objects.create_user(username="nobody"), name="x")
    for method, url in (("get", LABELS), ("delete", label_url(label)), ("put", lead_labels_url(lead))):
        response = getattr(client, method)(url, {"labels": []}, content_type=JSON, **bearer(secret))
        assert response.status_code == 403, (method, url)


def test_a_leads_labels_become_exactly_those_given_and_its_screens_follow(api):
    vip, wedding, called = (LabelFactory(name=name) for name in ("VIP", "Wedding", "Called back"))
    lead, other = LeadFactory(), LeadFactory()
    lead.labels.add(vip, wedding)
    other.labels.add(vip)
    body = {"labels": [str(called.pk), str(wedding.pk), str(called.pk)]}
    response = api.put(lead_labels_url(lead), body, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "lead": str(lead.pk),
        "labels": [
            {"id": str(called.pk), "name": "Called back", "colour": LabelColour.GREY},
            {"id": str(wedding.pk), "name": "Wedding", "colour": LabelColour.GREY},
        ],
        "changed": True,
    }
    assert set(lead.labels.all()) == {called, wedding} and list(other.labels.all()) == [vip]
    assert Event.objects.filter(type=Event.Type.LEAD_CHANGED, lead_id=lead.pk).count() == 1
    again = api.put(lead_labels_url(lead), body, content_type=JSON).json()
    assert again["changed"] is False
    assert api.get(reverse("api:v1:lead-detail", args=[lead.pk])).json()["labels"] == again["labels"]
    assert api.put(lead_labels_url(lead), {"labels": []}, content_type=JSON).json()["labels"] == []
    assert not lead.labels.exists()


UNKNOWN = "0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21"


@pytest.mark.parametrize(
    "labels",
    [None, "VIP", ["not-a-uuid"], [7], [{"id": UNKNOWN}], ["known", UNKNOWN], [UNKNOWN] * 201],
)
def test_a_bad_list_of_labels_is_400_and_changes_nothing(api, labels):
    label = LabelFactory()
    lead = LeadFactory()
    lead.labels.add(label)
    if isinstance(labels, list):
        labels = [str(label.pk) if item == "known" else item for item in labels]
    body = error(api.put(lead_labels_url(lead), {"labels": labels}, content_type=JSON))
    assert [field for field in body["fields"] if field.split(".")[0] == "labels"]  # the list, or one of its items
    assert error(api.put(lead_labels_url(lead), {}, content_type=JSON))["fields"]["labels"]
    assert list(lead.labels.all()) == [label]


def test_an_unknown_lead_is_404(api):
    url = reverse("api:v1:lead-labels", args=["0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21"])
    assert error(api.put(url, {"labels": []}, content_type=JSON), 404)["code"] == "not_found"


@pytest.mark.parametrize("count", [3, 60])
def test_the_query_counts_do_not_grow_with_the_labels(api, django_assert_max_num_queries, count):
    labels = LabelFactory.create_batch(count)
    lead = LeadFactory()
    api.get(LABELS)  # the token's first use of the minute records it: not the list's cost
    # Authentication and permissions, the count and the page.
    with django_assert_max_num_queries(7):
        assert api.get(LABELS, {"page_size": 200}).json()["count"] == count
    # And the lead, the labels asked for, the lead's lock and labels, the change (savepoints included), its
    # announcement and the answer: as many for 60 labels as for 3.
    with django_assert_max_num_queries(15):
        body = {"labels": [str(label.pk) for label in labels]}
        assert len(api.put(lead_labels_url(lead), body, content_type=JSON).json()["labels"]) == count
    assert Lead.objects.get().labels.count() == count
