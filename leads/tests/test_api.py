"""The leads and stages resources of the API: filters, search, pages, writes through the services, permissions."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS, OPERATORS
from accounts.services import api_token_create, api_token_revoke
from leads.models import LabelColour, Lead, Stage
from leads.tests.factories import LabelFactory, LeadFactory, StageFactory
from messaging.models import Channel
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db

LEADS = reverse("api:v1:lead-list")
STAGES = reverse("api:v1:stage-list")
PHONE = "+905551234567"


def lead_url(lead) -> str:
    return reverse("api:v1:lead-detail", args=[lead.pk])


def stage_url(stage) -> str:
    return reverse("api:v1:stage-detail", args=[stage.pk])


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def operator(user_in_role):
    return user_in_role("operator", OPERATORS, is_staff=True)


@pytest.fixture
def api(client, operator):
    """A client with an operator's token (leads: view, add, change; stages: all)."""
    _, secret = api_token_create(user=operator, name="sync")
    client.defaults.update(bearer(secret))
    return client


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def error(response, status=400) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_a_lead_as_the_api_answers_it(api):
    stage = Stage.objects.get(is_default=True)
    lead = LeadFactory(
        name="Ayşe Yılmaz", phone=PHONE, email="ayse@example.com", event_date=datetime.date(2027, 6, 12),
        event_time=datetime.time(19, 30), location="İstanbul", unread_count=2,
    )  # fmt: skip
    vip, wedding = LabelFactory(name="VIP", colour=LabelColour.PURPLE), LabelFactory(name="Düğün")
    lead.labels.add(vip, wedding)
    data = api.get(lead_url(lead)).json()
    assert data == {
        "id": str(lead.pk), "name": "Ayşe Yılmaz", "phone": PHONE, "phone_display": "+90 555 123 45 67",
        "email": "ayse@example.com", "stage": str(stage.pk), "stage_name": stage.name, "event_date": "2027-06-12",
        "event_time": "19:30:00", "location": "İstanbul", "is_unregistered": False, "unread_count": 2,
        "last_message_at": None, "last_inbound_at": None, "opted_out_at": None,
        "labels": [
            {"id": str(wedding.pk), "name": "Düğün", "colour": LabelColour.GREY},
            {"id": str(vip.pk), "name": "VIP", "colour": LabelColour.PURPLE},
        ],
        "created_at": data["created_at"], "updated_at": data["updated_at"],
    }  # fmt: skip
    assert datetime.datetime.fromisoformat(data["created_at"]) == lead.created_at


def test_the_list_is_newest_first_with_the_id_breaking_ties_and_paged(api):
    now = timezone.now()
    leads = LeadFactory.create_batch(5)
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[:3]]).update(created_at=now)  # a tie
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[3:]]).update(created_at=now - datetime.timedelta(days=1))
    tied = sorted((lead.pk for lead in leads[:3]), reverse=True)
    older = sorted((lead.pk for lead in leads[3:]), reverse=True)
    expected = [str(pk) for pk in tied + older]
    assert ids(api.get(LEADS)) == expected
    first = api.get(LEADS, {"page_size": 2}).json()
    assert first["count"] == 5 and first["next"] and first["previous"] is None
    pages = [ids(api.get(LEADS, {"page_size": 2, "page": page})) for page in (1, 2, 3)]
    assert [pk for page in pages for pk in page] == expected


def test_filters_by_stage_unread_opted_out_and_times(api):
    offer = StageFactory(name="Offer")
    in_offer = LeadFactory(stage=offer)
    unread = LeadFactory(unread_count=3)
    opted_out = LeadFactory(opted_out_at=timezone.now())
    old = LeadFactory()
    Lead.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=10), updated_at=timezone.now() - datetime.timedelta(days=9)
    )
    everyone = {str(lead.pk) for lead in (in_offer, unread, opted_out, old)}

    assert ids(api.get(LEADS, {"stage": str(offer.pk)})) == [str(in_offer.pk)]
    assert ids(api.get(LEADS, {"unread": "true"})) == [str(unread.pk)]
    assert set(ids(api.get(LEADS, {"unread": "false"}))) == everyone - {str(unread.pk)}
    assert ids(api.get(LEADS, {"opted_out": "true"})) == [str(opted_out.pk)]
    assert set(ids(api.get(LEADS, {"opted_out": "false"}))) == everyone - {str(opted_out.pk)}
    since = (timezone.now() - datetime.timedelta(days=5)).isoformat()
    assert set(ids(api.get(LEADS, {"created_since": since}))) == everyone - {str(old.pk)}
    assert set(ids(api.get(LEADS, {"updated_since": since}))) == everyone - {str(old.pk)}
    assert str(old.pk) in ids(api.get(LEADS, {"updated_since": "2000-01-01"}))  # a date alone is its midnight
    assert ids(api.get(LEADS, {"stage": str(offer.pk), "unread": "true"})) == []  # together: both


def test_filters_by_channel_and_starred_through_the_leads_messages(api):
    """What the inbox's filters mean: messages on the channel, a starred message."""
    by_sms = LeadFactory()
    InboundMessageFactory(lead=by_sms, channel=Channel.SMS)
    by_whatsapp = LeadFactory()
    InboundMessageFactory(lead=by_whatsapp)
    MessageFactory(lead=by_whatsapp, is_starred=True)
    silent = LeadFactory()

    assert ids(api.get(LEADS, {"channel": "sms"})) == [str(by_sms.pk)]
    assert ids(api.get(LEADS, {"channel": "whatsapp"})) == [str(by_whatsapp.pk)]
    assert ids(api.get(LEADS, {"starred": "true"})) == [str(by_whatsapp.pk)]
    assert set(ids(api.get(LEADS, {"starred": "false"}))) == {str(by_sms.pk), str(silent.pk)}
    assert error(api.get(LEADS, {"channel": "fax"}))["fields"]["channel"]


@pytest.mark.parametrize("typed", ["0555 123 45 67", "+90 555 123 45 67", "905551234567", "+905551234567",
                                   "whatsapp:+905551234567", "5551234567"])  # fmt: skip
def test_search_finds_a_phone_in_any_form(api, typed):
    lead = LeadFactory(phone=PHONE, name="Ayşe")
    LeadFactory(phone="+905559876543")
    assert ids(api.get(LEADS, {"search": typed})) == [str(lead.pk)]


def test_search_by_name_folded_and_by_a_part_of_the_phone(api):
    ayse = LeadFactory(name="AYŞE Yılmaz", phone=PHONE)
    LeadFactory(name="Mehmet Demir", phone="+905559876543")
    assert ids(api.get(LEADS, {"search": "ayse"})) == [str(ayse.pk)]
    assert ids(api.get(LEADS, {"search": "ayse yilmaz"})) == [str(ayse.pk)]
    assert ids(api.get(LEADS, {"search": "555 123 45"})) == [str(ayse.pk)]
    assert ids(api.get(LEADS, {"search": "nobody"})) == []
    assert len(ids(api.get(LEADS, {"search": ""}))) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"created_since": "yesterday"}, "created_since"),
        ({"updated_since": "2027-13-45T00:00:00"}, "updated_since"),
        ({"stage": "not-a-uuid"}, "stage"),
        ({"unread": "maybe"}, "unread"),
        ({"opted_out": "2"}, "opted_out"),
        ({"starred": "x"}, "starred"),
        ({"search": "ayşe\x00"}, "search"),
        ({"search": "x" * 201}, "search"),
    ],
)
def test_bad_filter_values_are_400_in_the_error_format(api, params, field):
    body = error(api.get(LEADS, params))
    assert body["code"] == "validation_error" and field in body["fields"]


def test_a_page_past_the_end_and_a_malformed_id_are_404_in_the_error_format(api):
    LeadFactory()
    assert error(api.get(LEADS, {"page": "99999999999999999999"}), 404)["code"] == "not_found"
    assert error(api.get(LEADS, {"page": "2"}), 404)["code"] == "not_found"
    assert error(api.get(LEADS + "/not-a-uuid"), 404)["code"] == "not_found"
    assert error(api.patch(LEADS + "/12345", {}, content_type="application/json"), 404)["code"] == "not_found"
    assert error(api.get(LEADS + "/0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21"), 404)["code"] == "not_found"
    assert error(api.get(LEADS, {"page_size": "100000"}), 400)["fields"]["page_size"]  # the schema's maximum


@pytest.mark.parametrize("count", [5, 50])
def test_the_lists_query_count_does_not_grow_with_the_leads(api, django_assert_max_num_queries, count):
    labels = LabelFactory.create_batch(3)
    for lead in LeadFactory.create_batch(count):
        lead.labels.add(*labels)
    MessageFactory(lead=Lead.objects.first(), is_starred=True)
    api.get(STAGES)  # the token's first use of the minute records it: not the list's cost
    # Authentication (the token, its user; knox reads the token twice), the user's and its groups' permissions, the
    # count, the page and its leads' labels: the filters add none.
    with django_assert_max_num_queries(7):
        page = api.get(LEADS, {"page_size": 200})
        assert len(ids(page)) == count and all(len(lead["labels"]) == 3 for lead in page.json()["results"])
    with django_assert_max_num_queries(7):
        api.get(LEADS, {"unread": "false", "starred": "false", "channel": "whatsapp", "search": "0555 000 00 01"})
    StageFactory.create_batch(count)
    stages = Stage.objects.count()
    with django_assert_max_num_queries(7):
        assert api.get(STAGES, {"page_size": 200}).json()["count"] == stages


def test_create_normalises_the_phone_lands_in_the_default_stage_and_is_heard(api):
    response = api.post(
        LEADS,
        {"name": " Ayşe ", "phone": "0555 123 45 67", "email": "ayse@example.com"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.name, lead.phone, lead.stage.is_default, lead.is_unregistered) == ("Ayşe", PHONE, True, False)
    assert response.json()["id"] == str(lead.pk) and response.json()["phone"] == PHONE
    assert response.json()["stage_name"] == lead.stage.name
    assert Event.objects.filter(type=Event.Type.LEAD_CREATED, lead_id=lead.pk).exists()


def test_create_in_a_given_stage_and_without_a_phone(api):
    offer = StageFactory(name="Offer")
    response = api.post(
        LEADS, {"name": "Walk-in", "stage": str(offer.pk), "phone": None}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["stage"], response.json()["phone"]) == (str(offer.pk), None)


def test_a_phone_another_lead_has_is_refused_with_that_leads_id(api):
    existing = LeadFactory(phone=PHONE)
    body = error(api.post(LEADS, {"name": "Again", "phone": "+90 555 123 45 67"}, content_type="application/json"))
    assert body["code"] == "duplicate" and body["lead_id"] == str(existing.pk) and body["fields"]["phone"]
    other = LeadFactory(phone="+905559876543")
    body = error(api.patch(lead_url(other), {"phone": "05551234567"}, content_type="application/json"))
    assert (body["code"], body["lead_id"]) == ("duplicate", str(existing.pk))
    assert Lead.objects.count() == 2 and Lead.objects.get(pk=other.pk).phone == "+905559876543"


def test_create_with_an_idempotency_key_makes_one_lead(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-ayse-1"}
    body = {"name": "Ayşe", "phone": PHONE}
    first = api.post(LEADS, body, content_type="application/json", **headers)
    again = api.post(LEADS, body, content_type="application/json", **headers)
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert first.json() == again.json() and Lead.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": PHONE}, "name"),
        ({"name": "   ", "phone": PHONE}, "name"),
        ({"name": "NUL\x00", "phone": PHONE}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ayşe", "phone": "not a phone"}, "phone"),
        ({"name": "Ayşe", "phone": "1" * 100}, "phone"),
        ({"name": "Ayşe", "phone": True}, "phone"),
        ({"name": "Ayşe", "email": "nope"}, "email"),
        ({"name": "Ayşe", "stage": "not-a-uuid"}, "stage"),
        ({"name": "Ayşe", "stage": "0b5e6a8e-3f1d-4c55-9a43-6f3f2f7f9c21"}, "stage"),
        ({"name": "Ayşe", "event_date": "99999-01-01"}, "event_date"),
        ({"name": ["a list"]}, "name"),
    ],
)
def test_bad_lead_input_is_400_and_writes_nothing(api, body, field):
    assert field in error(api.post(LEADS, body, content_type="application/json"))["fields"]
    assert not Lead.objects.exists()


def test_an_empty_or_malformed_body_is_400(api):
    assert error(api.post(LEADS, "", content_type="application/json"))["code"] in {"validation_error", "parse_error"}
    assert error(api.post(LEADS, "{not json", content_type="application/json"))["code"] == "parse_error"


def test_update_and_partial_update_through_the_service(api):
    lead = LeadFactory(phone=PHONE, name="Ayşe", location="Ankara", unread_count=4)
    offer = StageFactory(name="Offer")
    response = api.patch(lead_url(lead), {"stage": str(offer.pk), "unread_count": 0}, content_type="application/json")
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.stage, lead.location, lead.unread_count) == (offer, "Ankara", 4)  # read-only fields stay
    assert response.json()["stage_name"] == "Offer"
    assert Event.objects.filter(type=Event.Type.LEAD_CHANGED, lead_id=lead.pk).exists()

    response = api.put(lead_url(lead), {"name": "Ayşe Yılmaz", "phone": "+90 555 987 65 43"},
                       content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.name, lead.phone, lead.stage, lead.location) == ("Ayşe Yılmaz", "+905559876543", offer, "Ankara")
    assert "name" in error(api.put(lead_url(lead), {"phone": PHONE}, content_type="application/json"))["fields"]


def test_stages_list_in_order_with_their_lead_counts(api):
    default = Stage.objects.get(is_default=True)
    offer = StageFactory(name="Offer", position=default.position + 1)
    LeadFactory.create_batch(2, stage=offer)
    rows = api.get(STAGES).json()["results"]
    assert [row["name"] for row in rows] == list(
        Stage.objects.order_by("position", "name").values_list("name", flat=True)
    )
    assert [(row["lead_count"], row["is_default"]) for row in rows if row["name"] == "Offer"] == [(2, False)]
    assert api.get(stage_url(offer)).json() == {
        "id": str(offer.pk), "name": "Offer", "position": offer.position, "is_default": False, "lead_count": 2
    }  # fmt: skip


def test_making_a_stage_the_default_takes_the_flag(api):
    old = Stage.objects.get(is_default=True)
    response = api.post(STAGES, {"name": "Inbox", "position": 0, "is_default": True}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["lead_count"] == 0
    new = Stage.objects.get(pk=response.json()["id"])
    assert new.is_default and not Stage.objects.get(pk=old.pk).is_default
    assert api.patch(stage_url(old), {"is_default": True}, content_type="application/json").status_code == 200
    assert list(Stage.objects.filter(is_default=True)) == [old]


def test_the_only_default_cannot_be_unmade_and_names_are_unique(api):
    default = Stage.objects.get(is_default=True)
    body = error(api.patch(stage_url(default), {"is_default": False}, content_type="application/json"))
    assert body["fields"]["is_default"] == ["There must be a default stage: make another stage the default instead."]
    assert Stage.objects.get(pk=default.pk).is_default
    body = error(api.post(STAGES, {"name": default.name}, content_type="application/json"))
    assert "name" in body["fields"]
    assert (
        "position"
        in error(api.post(STAGES, {"name": "x", "position": 2**40}, content_type="application/json"))["fields"]
    )
    assert "name" in error(api.post(STAGES, {"name": "a\x00b"}, content_type="application/json"))["fields"]


def test_deleting_the_default_or_a_stage_with_leads_is_refused(api):
    default = Stage.objects.get(is_default=True)
    assert error(api.delete(stage_url(default)))["code"] == "default_stage"
    busy = StageFactory()
    LeadFactory(stage=busy)
    assert error(api.delete(stage_url(busy)))["code"] == "stage_in_use"
    empty = StageFactory()
    assert api.delete(stage_url(empty)).status_code == 204
    assert not Stage.objects.filter(pk=empty.pk).exists()
    assert Stage.objects.filter(pk__in=[default.pk, busy.pk]).count() == 2
    assert error(api.delete(stage_url(empty)), 404)["code"] == "not_found"
    assert error(api.delete(STAGES + "/nope"), 404)["code"] == "not_found"


def test_the_admin_saves_and_deletes_stages_through_the_same_services(staff_client, monkeypatch):
    from leads import admin, services

    called = []
    monkeypatch.setattr(admin, "stage_save", lambda *, stage: called.append("save") or services.stage_save(stage=stage))
    monkeypatch.setattr(
        admin, "stage_delete", lambda *, stage: called.append("delete") or services.stage_delete(stage=stage)
    )
    default = Stage.objects.get(is_default=True)
    response = staff_client.post(reverse("admin:leads_stage_add"), {"name": "Inbox", "position": 0, "is_default": "on"})
    assert response.status_code == 302
    assert Stage.objects.get(is_default=True).name == "Inbox" and not Stage.objects.get(pk=default.pk).is_default
    empty = StageFactory()
    response = staff_client.post(reverse("admin:leads_stage_delete", args=[empty.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Stage.objects.filter(pk=empty.pk).exists()
    assert called == ["save", "delete"]


# The permission matrix: anonymous 401, a token of a revoked or inactive user 401, lacking the permission 403.
LEAD_ACTIONS = [
    ("get", "list", None, "leads.view_lead"),
    ("get", "detail", None, "leads.view_lead"),
    ("post", "list", {"name": "New", "phone": "+905550000001"}, "leads.add_lead"),
    ("patch", "detail", {"name": "Renamed"}, "leads.change_lead"),
    ("put", "detail", {"name": "Renamed"}, "leads.change_lead"),
]
STAGE_ACTIONS = [
    ("get", "list", None, "leads.view_stage"),
    ("get", "detail", None, "leads.view_stage"),
    ("post", "list", {"name": "Another"}, "leads.add_stage"),
    ("patch", "detail", {"name": "Renamed"}, "leads.change_stage"),
    ("delete", "detail", None, "leads.delete_stage"),
]


def call(client, method, url, body, **headers):
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, body, content_type="application/json", **headers)


def urls_for(resource, where):
    if resource == "lead":
        return LEADS if where == "list" else lead_url(LeadFactory())
    return STAGES if where == "list" else stage_url(StageFactory())


@pytest.mark.parametrize(
    ("resource", "action"), [("lead", a) for a in LEAD_ACTIONS] + [("stage", a) for a in STAGE_ACTIONS]
)
def test_each_action_needs_its_permission(client, django_user_model, resource, action):
    from django.contrib.auth.models import Permission

    method, where, body, permission = action
    url = urls_for(resource, where)
    anonymous = call(client, method, url, body)
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Bearer")

    staff = django_user_model.objects.create_user(username="staff", is_staff=True)
    _, secret = api_token_create(user=staff, name="x")
    assert error(call(client, method, url, body, **bearer(secret)), 403)["code"] == "permission_denied"

    app_label, codename = permission.split(".")
    staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    staff = django_user_model.objects.get(pk=staff.pk)  # permissions are cached on the instance
    allowed = call(client, method, urls_for(resource, where), body, **bearer(secret))
    assert allowed.status_code in {200, 201, 204}, allowed.content

    revoked, revoked_secret = api_token_create(user=staff, name="old")
    api_token_revoke(token=revoked)
    assert call(client, method, url, body, **bearer(revoked_secret)).status_code == 401
    staff.is_active = False
    staff.save()
    assert call(client, method, url, body, **bearer(secret)).status_code == 401


def test_agents_read_edit_and_add_leads_but_change_no_stages(client, user_in_role):
    _, secret = api_token_create(user=user_in_role("agent", AGENTS), name="x")
    lead = LeadFactory()
    assert client.get(LEADS, **bearer(secret)).status_code == 200
    assert call(client, "patch", lead_url(lead), {"location": "İzmir"}, **bearer(secret)).status_code == 200
    assert call(client, "post", LEADS, {"name": "New"}, **bearer(secret)).status_code == 201  # one to write to
    assert client.get(STAGES, **bearer(secret)).status_code == 200
    assert call(client, "post", STAGES, {"name": "New"}, **bearer(secret)).status_code == 403
    assert client.delete(lead_url(lead), **bearer(secret)).status_code == 403  # erasing is privacy.erase_lead
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_the_schema_describes_the_filters_and_every_answer(staff_client):
    schema = staff_client.get(reverse("api:v1:schema"), {"format": "json"}).json()
    listing = schema["paths"]["/api/v1/leads"]["get"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in listing["parameters"]}
    assert sorted(parameters["channel"]["enum"]) == ["sms", "whatsapp"]
    assert parameters["created_since"] == {"type": "string", "format": "date-time"}
    assert {parameters[name]["type"] for name in ("unread", "starred", "opted_out")} == {"boolean"}
    assert parameters["stage"]["format"] == "uuid" and parameters["search"]["maxLength"] == 200
    assert {"200", "400", "401", "403", "404", "429"} <= set(listing["responses"])  # 404: a page past the last
    assert "400" in schema["paths"]["/api/v1/stages/{id}"]["delete"]["responses"]
    assert "200" in schema["paths"]["/api/v1/leads/{id}"]["delete"]["responses"]  # privacy's erasure, its receipt
    assert "Idempotency-Key" in {p["name"] for p in schema["paths"]["/api/v1/leads"]["post"]["parameters"]}


def test_any_malformed_id_reaches_the_view_so_even_debugs_404_page_is_the_error_format(api, settings):
    settings.DEBUG = True  # an unmatched URL would get Django's technical page
    for path in (LEADS + "/0.5", LEADS + "/a.b.c", STAGES + "/0.5"):
        assert error(api.get(path), 404)["code"] == "not_found"
