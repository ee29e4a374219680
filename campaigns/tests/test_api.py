"""The campaigns API: made, dry-run and canceled through the admin's services, with each action's permission."""

import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from accounts.roles import AGENTS, OPERATORS
from accounts.services import api_token_create
from campaigns.models import Campaign, CampaignRecipient
from campaigns.tests.factories import CampaignFactory, CampaignRecipientFactory
from leads.tests.factories import LeadFactory, StageFactory
from messaging.models import Message, MessageStatus
from messaging.tests.factories import MessageFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api:v1:campaign-list")
DRY_RUN = reverse("api:v1:campaign-dry-run")


def detail(campaign):
    return reverse("api:v1:campaign-detail", args=[campaign.pk])


def cancel_url(campaign):
    return reverse("api:v1:campaign-cancel", args=[getattr(campaign, "pk", campaign)])


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='t')[1]}"}


@pytest.fixture
def operator(user_in_role):
    return user_in_role("operator", OPERATORS, is_staff=True)


@pytest.fixture
def api(client, operator):
    client.force_login(operator)
    return client


def post(client, url, data, **headers):
    return client.post(url, data, content_type="application/json", **headers)


def test_create_for_leads_starts_it_through_the_admins_service(api, outbox, run, operator):
    leads = LeadFactory.create_batch(2)
    template = TemplateFactory(content="Merhaba {{1}}, kod {{4}}")
    body = {"name": "API", "template": str(template.pk), "lead_ids": [str(lead.pk) for lead in leads]}
    with run():
        response = post(api, LIST, {**body, "parameters": ["K1"]})
    assert response.status_code == 201, response.json()
    data = response.json()
    campaign = Campaign.objects.get()
    assert (data["id"], data["status"], data["template_name"]) == (str(campaign.pk), "running", template.name)
    assert data["progress"]["total"] == 2 and data["progress"]["finished"] is False
    assert sorted(m.to for m in outbox) == sorted(lead.phone for lead in leads)
    assert {m.content_variables["4"] for m in outbox} == {"K1"}
    assert campaign.created_by == operator
    assert LogEntry.objects.get(object_id=str(campaign.pk)).change_message.startswith("Created and started")


def test_create_for_a_stage_later_and_with_an_idempotency_key(api, outbox, run):
    stage = StageFactory()
    LeadFactory.create_batch(3, stage=stage)
    template = TemplateFactory()
    start = (timezone.now() + timezone.timedelta(hours=2)).isoformat()
    body = {"template": str(template.pk), "stage": str(stage.pk), "start_at": start}
    with run():
        first = post(api, LIST, body, HTTP_IDEMPOTENCY_KEY="k-1")
        again = post(api, LIST, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    campaign = Campaign.objects.get()
    assert (campaign.name, campaign.status, campaign.recipients.count()) == (template.name, "scheduled", 3)
    assert outbox == []
    assert first.json()["progress"]["estimated_end"] is not None


def test_hostile_inputs_are_400_naming_what_is_wrong(api):
    template = TemplateFactory()
    lead = LeadFactory()
    unknown = uuid.uuid4()
    base = {"template": str(template.pk)}
    cases = [
        ({**base, "lead_ids": [str(lead.pk), str(unknown)]}, "lead_ids", str(unknown)),
        ({**base, "lead_ids": [str(lead.pk), str(lead.pk)]}, "lead_ids", str(lead.pk)),
        ({**base, "lead_ids": []}, "lead_ids", ""),
        ({**base, "lead_ids": ["nope"]}, "lead_ids.0", ""),
        ({**base, "lead_ids": [str(uuid.uuid4()) for _ in range(10_001)]}, "lead_ids", "10000"),
        (base, "lead_ids", "stage"),
        ({**base, "lead_ids": [str(lead.pk)], "stage": str(StageFactory().pk)}, "lead_ids", ""),
        ({"template": "nope", "lead_ids": [str(lead.pk)]}, "template", ""),
        ({"template": str(uuid.uuid4()), "lead_ids": [str(lead.pk)]}, "template", ""),
        ({**base, "stage": 12345678901234567890}, "stage", ""),
        ({**base, "lead_ids": [str(lead.pk)], "parameters": ["a\x00b"]}, "parameters", ""),
        ({**base, "lead_ids": [str(lead.pk)], "parameters": "x"}, "parameters", ""),
        ({**base, "lead_ids": [str(lead.pk)], "name": "n" * 201}, "name", ""),
        ({**base, "lead_ids": [str(lead.pk)], "start_at": "yarın"}, "start_at", ""),
        ([1, 2], "non_field_errors", ""),
    ]
    for url in (LIST, DRY_RUN):
        for body, field, named in cases:
            response = post(api, url, body)
            assert response.status_code == 400, (url, body if len(str(body)) < 200 else field, response.content)
            error = response.json()["error"]
            assert error["code"] == "validation_error"
            if field != "non_field_errors":
                assert any(name.startswith(field) for name in error["fields"]), (field, error)
                assert named in " ".join(" ".join(messages) for messages in error["fields"].values())
    assert api.post(LIST, "", content_type="application/json").status_code == 400
    assert api.post(LIST, "{", content_type="application/json").status_code == 400
    assert not Campaign.objects.exists()


def test_an_unapproved_template_is_refused_in_the_error_format(api):
    template = TemplateFactory(approval_status="pending")
    response = post(api, DRY_RUN, {"template": str(template.pk), "lead_ids": [str(LeadFactory().pk)]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_approved" and "template" in response.json()["error"]["fields"]


def test_dry_run_answers_who_would_be_skipped_and_creates_nothing(api, settings):
    settings.TWILIO_WHATSAPP_MPS = 2.0
    ok = LeadFactory.create_batch(3)
    out = LeadFactory(name="Çıkan", opted_out_at=timezone.now())
    nophone = LeadFactory(name="Telefonsuz", phone=None)
    template = TemplateFactory(content="Merhaba {{1}}")
    ids = [str(lead.pk) for lead in [*ok, out, nophone]]
    response = post(api, DRY_RUN, {"template": str(template.pk), "lead_ids": ids})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["total"], data["sent"], data["skipped_count"]) == (5, 3, 2)
    assert data["sent_by_channel"] == {"whatsapp": 3}
    assert {(row["lead"], row["outcome"]) for row in data["skipped"]} == {
        (str(out.pk), "skipped_opted_out"),
        (str(nophone.pk), "skipped_no_phone"),
    }
    assert data["duration_seconds"] == pytest.approx(3 / (2.0 * 0.98))
    assert not Campaign.objects.exists() and not Message.objects.exists()


def test_retrieve_shows_progress_per_outcome_and_message_status(api, django_assert_max_num_queries):
    campaign = CampaignFactory(status="running", started_at=timezone.now())
    for status in (MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED):
        CampaignRecipientFactory(campaign=campaign, message=MessageFactory(status=status, bulk=True), outcome="queued")
    unsent = MessageFactory(status=MessageStatus.QUEUED, twilio_message_sid=None, bulk=True)
    CampaignRecipientFactory(campaign=campaign, message=unsent, outcome="queued")
    CampaignRecipientFactory(campaign=campaign, outcome="skipped_no_phone")
    CampaignRecipientFactory(campaign=campaign)
    with django_assert_max_num_queries(8):  # session, user, permissions, campaign, progress, estimate
        data = api.get(detail(campaign)).json()
    progress = data["progress"]
    assert progress["outcomes"]["queued"] == 4 and progress["outcomes"]["skipped_no_phone"] == 1
    assert progress["message_statuses"] == {"delivered": 1, "read": 1, "failed": 1, "queued": 1}
    assert (progress["sent"], progress["failed"], progress["final"], progress["finished"]) == (2, 1, 4, False)
    assert progress["unconfirmed"] == 1  # the queued one: no final report yet
    assert progress["estimated_end"] is not None and data["started_at"] is not None


def test_a_campaign_finished_without_some_reports_says_how_many(api):
    campaign = CampaignFactory(status="done", started_at=timezone.now(), finished_at=timezone.now())
    for status in (MessageStatus.DELIVERED, MessageStatus.SENT, MessageStatus.SENT):
        CampaignRecipientFactory(campaign=campaign, message=MessageFactory(status=status, bulk=True), outcome="queued")
    progress = api.get(detail(campaign)).json()["progress"]
    assert (progress["finished"], progress["final"], progress["unconfirmed"], progress["sent"]) == (True, 1, 2, 3)


def test_list_is_paged_with_progress_in_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    CampaignFactory(status="done")  # the oldest: on the second page
    for _ in range(6):
        campaign = CampaignFactory(status="running")
        CampaignRecipientFactory(campaign=campaign)
        CampaignRecipientFactory(
            campaign=campaign,
            message=MessageFactory(status=MessageStatus.QUEUED, twilio_message_sid=None, bulk=True),
            outcome="queued",
        )
    with django_assert_max_num_queries(8):  # session, user, permissions, count, page, progress, estimate
        response = api.get(LIST, {"page_size": 5})
    data = response.json()
    assert (data["count"], len(data["results"])) == (7, 5)
    assert all(row["progress"]["total"] == 2 for row in data["results"])
    assert api.get(LIST, {"status": "done"}).json()["count"] == 1
    assert api.get(LIST, {"status": "nope"}).status_code == 400
    assert api.get(LIST, {"page": "x"}).status_code == 400
    assert api.get(LIST, {"page": "99"}).status_code == 404  # past the last


def test_cancel_through_the_api_and_the_admin_share_the_service(api, staff_client, outbox):
    campaign = CampaignFactory(status="running")
    queued = MessageFactory(status=MessageStatus.QUEUED, twilio_message_sid=None, bulk=True)
    sent = MessageFactory(status=MessageStatus.SENT, bulk=True)
    CampaignRecipientFactory(campaign=campaign, message=queued, outcome="queued")
    CampaignRecipientFactory(campaign=campaign, message=sent, outcome="queued")
    CampaignRecipientFactory(campaign=campaign)
    response = post(api, cancel_url(campaign), {})
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert response.json()["progress"]["canceled"] == 2
    assert dict(CampaignRecipient.objects.values_list("message__status", "outcome")) == {
        "canceled": "canceled",
        "sent": "queued",
        None: "canceled",
    }
    again = post(api, cancel_url(campaign), {})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancelable"

    other = CampaignFactory(status="running")
    CampaignRecipientFactory(campaign=other)
    staff_client.post(
        reverse("admin:campaigns_campaign_changelist"), {"action": "cancel", "_selected_action": [other.pk]}
    )
    other.refresh_from_db()
    assert other.status == "canceled" and CampaignRecipient.objects.get(campaign=other).outcome == "canceled"
    assert post(api, cancel_url(uuid.uuid4()), {}).status_code == 404
    assert post(api, "/api/v1/campaigns/nope/cancel", {}).status_code == 404


@pytest.mark.parametrize(
    ("method", "url", "needs"),
    [
        ("get", LIST, "campaigns.view_campaign"),
        ("post", LIST, "campaigns.add_campaign"),
        ("post", DRY_RUN, "campaigns.add_campaign"),
        ("post", "cancel", "campaigns.change_campaign"),
        ("get", "detail", "campaigns.view_campaign"),
    ],
)
def test_permissions(client, user_in_role, django_user_model, method, url, needs):
    from django.contrib.auth.models import Permission

    campaign = CampaignFactory(status="running")
    url = {"cancel": cancel_url(campaign), "detail": detail(campaign)}.get(url, url)
    call = getattr(client, method)
    body = {"template": str(TemplateFactory().pk), "lead_ids": [str(LeadFactory().pk)]}
    kwargs = {"data": body, "content_type": "application/json"} if method == "post" else {}

    anonymous = call(url, **kwargs)
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Bearer")
    agent = user_in_role("agent", AGENTS)
    assert call(url, **kwargs, **bearer(agent)).status_code == 403
    staff = django_user_model.objects.create_user(username="staff-without", is_staff=True)
    assert call(url, **kwargs, **bearer(staff)).status_code == 403
    app_label, codename = needs.split(".")
    staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    allowed = call(url, **kwargs, **bearer(django_user_model.objects.get(pk=staff.pk)))
    assert allowed.status_code in {200, 201}, allowed.content
    gone = user_in_role("gone", OPERATORS, is_staff=True)
    headers = bearer(gone)
    gone.is_active = False
    gone.save()
    assert call(url, **kwargs, **headers).status_code == 401
