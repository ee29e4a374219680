import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from messaging.backends.twilio.tests.payloads import ACCOUNT_SID, AUTH_TOKEN
from messaging.tests.factories import MessageFactory
from templates_app.models import Template
from templates_app.selectors import templates_sendable
from templates_app.services import TemplateSyncError, templates_sync
from templates_app.tests.factories import TemplateFactory
from templates_app.tests.fake_content import FakeContentApi, content

pytestmark = pytest.mark.django_db

TEXT = {"twilio/text": {"body": "Merhaba {{1}}, randevunuz yarın."}}


def catalogue():
    return [
        content(
            1, "randevu", TEXT, {"name": "randevu", "category": "UTILITY", "status": "approved", "rejection_reason": ""}
        ),
        content(
            2,
            "indirim",
            {"twilio/text": {"body": "{{1}} SON FIRSAT"}},
            {"whatsapp": {"status": "rejected", "rejection_reason": "Starts with a variable", "category": "MARKETING"}},
        ),
        content(
            3,
            "onay",
            {"twilio/quick-reply": {"body": "Katılıyor musunuz {{1}}?", "actions": [{"title": "Evet"}]}},
            {"whatsapp": {"status": "pending", "category": "UTILITY"}},
        ),
        content(4, "broken", {}, {"status": "approved"}),
        content(
            5,
            "menu",
            {"twilio/media": {"body": "Menümüz ekte {{1}}", "media": ["https://example.com/menu.pdf"]}},
            {"status": "paused", "category": "MARKETING"},
        ),
        content(6, "kart", {"twilio/card": {"title": "Davetiye {{1}}"}}, {"whatsapp": {"status": "approved"}}),
    ]


@pytest.fixture
def content_api(twilio_settings):
    with FakeContentApi(ACCOUNT_SID, AUTH_TOKEN) as api:
        api.items = catalogue()
        twilio_settings.TWILIO_CONTENT_BASE_URL = api.base_url
        twilio_settings.MESSAGING_BACKEND = "messaging.backends.twilio.TwilioBackend"
        yield api


def test_sync_reads_every_page_and_both_approval_shapes(content_api):
    report = templates_sync()
    assert len([path for path in content_api.requests if "ContentAndApprovals" in path]) == 3
    assert sorted(report.created) == ["indirim", "kart", "menu", "onay", "randevu"]
    assert report.failed == [{"sid": f"HX{4:032x}", "error": "no text in its types (none)"}]
    templates = {template.name: template for template in Template.objects.all()}
    assert templates["randevu"].approval_status == "approved" and templates["randevu"].category == "UTILITY"
    assert templates["randevu"].content == "Merhaba {{1}}, randevunuz yarın."
    assert templates["indirim"].approval_status == "rejected"
    assert templates["indirim"].rejection_reason == "Starts with a variable"
    assert templates["onay"].content == "Katılıyor musunuz {{1}}?" and templates["onay"].approval_status == "pending"
    assert templates["menu"].approval_status == "paused"
    assert templates["kart"].content == "Davetiye {{1}}"
    assert templates["randevu"].variables == {"1": "Ayşe"} and templates["randevu"].language == "tr"
    assert sorted(t.name for t in templates_sendable()) == ["kart", "randevu"]


def test_a_second_run_changes_nothing(content_api):
    templates_sync()
    before = list(Template.objects.order_by("name").values())
    report = templates_sync()
    assert (report.created, report.updated, report.deactivated, report.unchanged) == ([], [], [], 5)
    assert list(Template.objects.order_by("name").values()) == before


def test_changes_are_applied_and_gone_templates_deactivated_not_deleted(content_api):
    templates_sync()
    message = MessageFactory(template=Template.objects.get(name="indirim"))
    content_api.items = [item for item in catalogue() if item["friendly_name"] != "indirim"]
    onay = next(item for item in content_api.items if item["friendly_name"] == "onay")
    onay["approval_requests"] = {"whatsapp": {"status": "approved", "category": "UTILITY"}}
    report = templates_sync()
    assert report.deactivated == ["indirim"] and report.updated == ["onay"]
    gone = Template.objects.get(name="indirim")
    assert gone.status == "inactive"
    message.refresh_from_db()
    assert message.template == gone
    content_api.items = catalogue()
    assert sorted(templates_sync().updated) == ["indirim", "onay"]  # back, and onay pending again
    assert Template.objects.get(name="indirim").status == "active"


def test_twilio_down_or_wrong_credentials_change_nothing(content_api, settings):
    templates_sync()
    before = list(Template.objects.order_by("name").values())
    settings.TWILIO_AUTH_TOKEN = "wrong"
    with pytest.raises(TemplateSyncError, match="Could not read"):
        templates_sync()
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_CONTENT_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(TemplateSyncError, match="Could not"):
        templates_sync()
    assert list(Template.objects.order_by("name").values()) == before


def test_local_templates_are_not_touched(content_api):
    local = TemplateFactory(name="sms_hatirlatma", content_sid=None, approval_status="unsubmitted")
    templates_sync()
    local.refresh_from_db()
    assert local.status == "active"
    assert local in templates_sendable(channel="sms") and local not in templates_sendable()


def test_command_reports(content_api, capsys, settings):
    call_command("sync_templates")
    captured = capsys.readouterr()
    assert "Created: randevu" in captured.out
    assert "5 created, 0 updated, 0 deactivated, 1 failed, 0 unchanged." in captured.out
    assert f"Skipped HX{4:032x}: no text" in captured.err
    settings.TWILIO_CONTENT_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="Could not"):
        call_command("sync_templates")


def test_admin_button(content_api, staff_client):
    page = staff_client.get(reverse("admin:templates_app_template_changelist")).content.decode()
    assert reverse("admin:templates_app_template_sync") in page
    response = staff_client.post(reverse("admin:templates_app_template_sync"), follow=True)
    assert "Synced from Twilio: 5 created" in response.content.decode()
    assert staff_client.get(reverse("admin:templates_app_template_sync")).status_code == 405


def test_endpoint(content_api, staff_client, settings):
    from django.test import Client

    url = reverse("api:templates-sync")
    assert Client().post(url).status_code == 401
    data = staff_client.post(url).json()
    assert sorted(data["created"]) == ["indirim", "kart", "menu", "onay", "randevu"]
    assert data["failed"][0]["sid"] == f"HX{4:032x}"
    settings.TWILIO_CONTENT_BASE_URL = "http://127.0.0.1:9"
    response = staff_client.post(url)
    error = response.json()["error"]
    assert response.status_code == 502 and "Could not" in error["message"]
    assert error["code"] == "provider_unavailable"


def test_an_item_holding_a_nul_is_reported_and_the_rest_sync(content_api):
    content_api.items = [*catalogue()[:1], content(7, "bozuk", {"twilio/text": {"body": "Merhaba\x00 {{1}}"}}, {})]
    report = templates_sync()
    assert report.failed == [{"sid": f"HX{7:032x}", "error": "a field holds a NUL character, which cannot be stored"}]
    assert list(Template.objects.values_list("name", flat=True)) == ["randevu"]
