"""Where leads are made, each new one is recorded once as a `lead_created` event (what the outbound webhooks report
as lead.created), the webhook's and the import's in one insert for the whole batch."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Lead, Stage
from leads.services import lead_save, leads_get_or_create_for_phones, leads_save_imported
from leads.tests.factories import LeadFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db


def created_events():
    return list(Event.objects.filter(type=Event.Type.LEAD_CREATED).order_by("pk").values_list("lead_id", flat=True))


def event_inserts(queries) -> int:
    return sum('INSERT INTO "notifications_event"' in query["sql"] for query in queries.captured_queries)


def test_the_webhooks_new_numbers_are_recorded_together_and_the_known_ones_not():
    known = LeadFactory(phone="+905551110000")
    phones = {"+905551110000": "Known", "+905551110001": "Bir", "+905551110002": "İki"}
    with CaptureQueriesContext(connection) as queries:
        matches = leads_get_or_create_for_phones(phones=phones)
    new = sorted(str(matches[phone].lead.pk) for phone in ("+905551110001", "+905551110002"))
    assert sorted(str(pk) for pk in created_events()) == new
    assert known.pk not in created_events()
    assert event_inserts(queries) == 1
    Event.objects.all().delete()
    leads_get_or_create_for_phones(phones=phones)  # all known now
    assert created_events() == []


def test_a_lead_made_in_the_admin_is_created_and_an_edit_is_a_change(staff_client):
    response = staff_client.post(
        reverse("admin:leads_lead_add"),
        {"name": "Ayşe Yılmaz", "phone": "0532 111 22 33", "stage": Stage.objects.get(is_default=True).pk},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    lead = Lead.objects.get()
    assert list(Event.objects.values_list("type", "lead_id")) == [("lead_created", lead.pk)]
    lead.name = "Ayşe Kaya"
    lead_save(lead=lead)
    assert list(Event.objects.order_by("pk").values_list("type", flat=True)) == ["lead_created", "lead_changed"]


def test_imported_new_leads_are_recorded_in_one_insert():
    stage = Stage.objects.get(is_default=True)
    new = [Lead(name=f"Lead {n}", phone=f"+90532000{n:04d}", stage=stage) for n in range(30)]
    with CaptureQueriesContext(connection) as queries:
        leads_save_imported(new=new, changed=[], fields=[])
    assert sorted(created_events()) == sorted(lead.pk for lead in new)
    assert event_inserts(queries) == 1
