import re

import pytest
from django.urls import reverse

from leads.models import Lead, Stage
from leads.tests.factories import LeadFactory, StageFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    ["0555 123 45 67", "+90 555 123 4567", "905551234567", "5551234567", "whatsapp:+905551234567", "555 123 45"],
)
def test_lead_is_found_by_its_phone_in_any_form(staff_client, query):
    LeadFactory(name="Ayşe Yılmaz", phone="+905551234567")
    LeadFactory(name="Mehmet Demir", phone="+905321112233")
    response = staff_client.get(reverse("admin:leads_lead_changelist"), {"q": query})
    assert response.status_code == 200
    assert [lead.name for lead in response.context["cl"].result_list] == ["Ayşe Yılmaz"]


def test_lead_found_by_last_ten_digits_when_stored_under_another_country(staff_client):
    LeadFactory(name="Wrong region import", phone="+15551234567")
    response = staff_client.get(reverse("admin:leads_lead_changelist"), {"q": "0555 123 45 67"})
    assert [lead.name for lead in response.context["cl"].result_list] == ["Wrong region import"]


def test_lead_search_by_name_still_works(staff_client):
    LeadFactory(name="Zeynep Kaya")
    LeadFactory(name="Can Öztürk")
    response = staff_client.get(reverse("admin:leads_lead_changelist"), {"q": "zeynep"})
    assert [lead.name for lead in response.context["cl"].result_list] == ["Zeynep Kaya"]


def test_lead_changelist_queries_do_not_grow_with_rows(staff_client, django_assert_max_num_queries):
    LeadFactory.create_batch(30)
    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:leads_lead_changelist"))
    assert response.status_code == 200
    assert "+90\N{NO-BREAK SPACE}555" in response.content.decode()


def test_lead_form_normalises_phone_and_reports_junk(staff_client):
    url = reverse("admin:leads_lead_add")
    data = {"name": "Ali Veli", "phone": "0532 111 22 33", "stage": Stage.objects.get(is_default=True).pk}
    response = staff_client.post(url, data)
    assert response.status_code == 302
    assert Lead.objects.get().phone == "+905321112233"

    response = staff_client.post(url, {**data, "phone": "call me maybe"})
    assert response.status_code == 200
    assert "Enter a valid phone number" in response.content.decode()

    response = staff_client.post(url, {**data, "name": "Dup", "phone": "905321112233"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Lead.objects.count() == 1


README_PHONE_FORMS = [
    "+90 555 987 65 43",
    "whatsapp:+905559876543",
    "+90 (555) 987-65-43",
    "0555 987 65 43",
    "+90 555 987 6543",
    "905559876543",
    "5559876543",
]


@pytest.mark.parametrize("raw", README_PHONE_FORMS)
def test_lead_form_takes_every_phone_form_the_readme_promises(staff_client, raw):
    stage = Stage.objects.get(is_default=True).pk
    page = staff_client.get(reverse("admin:leads_lead_add")).content.decode()
    maxlength = int(re.search(r'<input[^>]*name="phone"[^>]*maxlength="(\d+)"', page).group(1))
    assert maxlength >= len(raw)

    response = staff_client.post(reverse("admin:leads_lead_add"), {"name": "Ayşe", "phone": raw, "stage": stage})
    assert response.status_code == 302, response.context["adminform"].form.errors
    lead = Lead.objects.get()
    assert lead.phone == "+905559876543"

    lead.phone = "+905321112233"
    lead.save()
    response = staff_client.post(
        reverse("admin:leads_lead_change", args=[lead.pk]), {"name": "Ayşe", "phone": raw, "stage": stage}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    lead.refresh_from_db()
    assert lead.phone == "+905559876543"


def test_lead_change_page_links_to_its_conversation(staff_client):
    lead = LeadFactory()
    response = staff_client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert response.status_code == 200
    assert f"lead__id__exact={lead.pk}" in response.content.decode()


def test_default_stage_cannot_be_deleted_from_the_admin(staff_client):
    default = Stage.objects.get(is_default=True)
    response = staff_client.post(reverse("admin:leads_stage_delete", args=[default.pk]), {"post": "yes"})
    assert response.status_code == 403
    spare = StageFactory()
    response = staff_client.post(
        reverse("admin:leads_stage_changelist"),
        {"action": "delete_selected", "_selected_action": [default.pk, spare.pk], "post": "yes"},
    )
    assert Stage.objects.filter(pk=default.pk).exists()


def test_bulk_delete_of_stages_goes_through_the_service_and_keeps_what_it_refuses(staff_client, monkeypatch):
    from django.contrib.admin.models import DELETION, LogEntry

    from leads import admin, services

    called = []
    monkeypatch.setattr(
        admin, "stage_delete", lambda *, stage: called.append(stage.name) or services.stage_delete(stage=stage)
    )
    default = Stage.objects.get(is_default=True)
    spare = StageFactory(name="Spare")
    busy = StageFactory(name="Busy")
    leads = LeadFactory.create_batch(2, stage=busy)
    url = reverse("admin:leads_stage_changelist")

    # The confirmation page asks, rather than refusing the whole selection for the default stage.
    page = staff_client.post(url, {"action": "delete_selected", "_selected_action": [default.pk, spare.pk]})
    assert page.status_code == 200
    assert not page.context["perms_lacking"] and not page.context["protected"]
    assert 'name="post" value="yes"' in page.content.decode()

    # Confirmed (busy got its leads after the page was shown): the service decides for each stage.
    response = staff_client.post(
        url,
        {"action": "delete_selected", "_selected_action": [default.pk, spare.pk, busy.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert sorted(called) == sorted([default.name, "Spare", "Busy"])
    assert set(Stage.objects.filter(pk__in=[default.pk, spare.pk, busy.pk])) == {default, busy}
    assert {lead.stage_id for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])} == {busy.pk}
    shown = [str(message) for message in response.context["messages"]]
    assert f"“{default.name}”: {services.STAGE_IS_DEFAULT}" in shown
    assert f"“Busy”: {services.STAGE_HAS_LEADS}" in shown
    assert "Successfully deleted 1 stage." in shown
    assert list(LogEntry.objects.filter(action_flag=DELETION).values_list("object_repr", flat=True)) == ["Spare"]


def test_stage_changelist_shows_lead_counts(staff_client):
    LeadFactory.create_batch(3)
    response = staff_client.get(reverse("admin:leads_stage_changelist"))
    default = next(s for s in response.context["cl"].result_list if s.is_default)
    assert default.lead_count == 3


def test_another_stage_becomes_the_default_through_the_admin_change_form(staff_client):
    old = Stage.objects.get(is_default=True)
    stage = StageFactory(name="Qualified")
    response = staff_client.post(
        reverse("admin:leads_stage_change", args=[stage.pk]),
        {"name": "Qualified", "position": stage.position, "is_default": "on"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(Stage.objects.filter(is_default=True)) == [stage]
    old.refresh_from_db()
    assert not old.is_default


def test_a_new_stage_can_be_added_as_the_default(staff_client):
    response = staff_client.post(
        reverse("admin:leads_stage_add"), {"name": "Inbound", "position": 0, "is_default": "on"}
    )
    assert response.status_code == 302
    assert Stage.objects.get(is_default=True).name == "Inbound"
    assert Stage.objects.count() > 1


def test_a_lead_edited_in_the_admin_tells_its_open_conversations(staff_client):
    from notifications.models import Event

    lead = LeadFactory(name="Eski Ad", phone="+905321112233")
    data = {"name": "Yeni Ad", "phone": "+905321112233", "stage": lead.stage_id}
    response = staff_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), data)
    assert response.status_code == 302
    event = Event.objects.get(type=Event.Type.LEAD_CHANGED, lead=lead)
    assert event.payload == {"lead_id": str(lead.pk), "lead_name": "Yeni Ad"}


def test_lead_page_keeps_what_messaging_records_read_only(staff_client):
    lead = LeadFactory(is_unregistered=True, unread_count=3)
    page = staff_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    for field in ["opted_out_at", "is_unregistered", "first_message_answered", "unread_count", "last_message_at"]:
        assert f'name="{field}' not in page
    data = {"name": "Yeni Ad", "phone": lead.phone, "stage": lead.stage_id, "is_unregistered": "", "unread_count": 0,
            "first_message_answered": "on", "opted_out_at_0": "2026-01-01", "opted_out_at_1": "10:00"}  # fmt: skip
    data.update({f"messages-{key}": value for key, value in {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0}.items()})
    response = staff_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.name == "Yeni Ad"
    assert (lead.is_unregistered, lead.first_message_answered, lead.opted_out_at, lead.unread_count) == (
        True, False, None, 3,
    )  # fmt: skip


def test_lead_page_links_to_the_agents_conversation(staff_client):
    lead = LeadFactory()
    page = staff_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert f'href="{reverse("inbox:conversation", args=[lead.pk])}"' in page


def test_a_stage_that_got_a_lead_after_its_confirmation_page_is_kept_and_said_so(staff_client, monkeypatch):
    """The single delete's confirmation found no lead; one arrives before the stage_delete refuses: the stage stays,
    the page says why, and nothing is logged or reported as deleted."""
    from django.contrib.admin.models import DELETION, LogEntry

    from leads import admin, services

    stage = StageFactory(name="Busy")
    checked = admin.StageAdmin.get_deleted_objects

    def lead_arrives_after_the_check(self, objs, request):
        found = checked(self, objs, request)
        LeadFactory(stage=stage)
        return found

    monkeypatch.setattr(admin.StageAdmin, "get_deleted_objects", lead_arrives_after_the_check)
    response = staff_client.post(reverse("admin:leads_stage_delete", args=[stage.pk]), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("admin:leads_stage_change", args=[stage.pk])
    assert [str(message) for message in response.context["messages"]] == [services.STAGE_HAS_LEADS]
    assert Stage.objects.filter(pk=stage.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
