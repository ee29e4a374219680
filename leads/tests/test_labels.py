"""Labels: one name whatever its case, put on and taken off many leads at once, each change announced; the admin
manages them through the same services."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from leads.models import Label, LabelColour, Lead
from leads.services import label_save, lead_labels_set, leads_labels_change
from leads.tests.factories import LabelFactory, LeadFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db


def test_a_label_name_is_one_whatever_its_case_and_spacing():
    label = label_save(label=Label(name="  Düğün   2027 "))
    assert label.name == "Düğün 2027"
    with pytest.raises(ValidationError) as error:
        label_save(label=Label(name="DÜĞÜN 2027"))
    assert "exists already" in str(error.value)
    with pytest.raises(ValidationError):
        label_save(label=Label(name="VIP", colour="#000000"))  # not one of the colours
    assert Label.objects.count() == 1


def test_labels_go_on_and_off_many_leads_and_only_the_changed_ones_are_announced():
    vip, wedding = LabelFactory(name="VIP"), LabelFactory(name="Düğün")
    first, second, third = LeadFactory.create_batch(3)
    first.labels.add(vip)
    assert leads_labels_change(lead_ids=[first.pk, second.pk, third.pk], add=[vip]) == 2
    assert set(Lead.objects.filter(labels=vip)) == {first, second, third}
    announced = Event.objects.filter(type=Event.Type.LEAD_CHANGED)
    assert {event.lead_id for event in announced} == {second.pk, third.pk}
    assert leads_labels_change(lead_ids=[first.pk, second.pk], add=[vip]) == 0  # nothing new: nothing said
    assert leads_labels_change(lead_ids=[first.pk, second.pk], add=[wedding], remove=[vip]) == 2
    assert set(first.labels.all()) == {wedding} and set(third.labels.all()) == {vip}
    assert leads_labels_change(lead_ids=[first.pk], add=[vip], remove=[vip]) == 1  # adding wins over removing
    assert set(first.labels.all()) == {wedding, vip}


def test_a_lead_s_labels_set_exactly():
    vip, wedding, called = LabelFactory(), LabelFactory(), LabelFactory()
    lead = LeadFactory()
    lead.labels.add(vip, wedding)
    assert lead_labels_set(lead=lead, labels=[wedding, called]) is True
    assert set(lead.labels.all()) == {wedding, called}
    assert lead_labels_set(lead=lead, labels=[called, wedding]) is False


def test_every_colour_has_its_style():
    css = (Path(settings.BASE_DIR) / "leads" / "static" / "leads" / "labels.css").read_text()
    for colour in LabelColour:
        assert re.search(rf"\.label-{colour.name.lower()} \{{ background: {colour.value}; \}}", css), colour
    assert Label(name="x", colour=LabelColour.TEAL).colour_class == "label-teal"


def test_the_admin_makes_labels_and_puts_them_on_leads_through_the_services(admin_client):
    response = admin_client.post(reverse("admin:leads_label_add"), {"name": "VIP", "colour": LabelColour.RED})
    assert response.status_code == 302
    response = admin_client.post(reverse("admin:leads_label_add"), {"name": "vip", "colour": LabelColour.RED})
    assert response.status_code == 200 and "exists already" in response.content.decode()
    vip = Label.objects.get()
    lead = LeadFactory(name="Elif")
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="labels"' in page
    data = {"name": "Elif", "phone": lead.phone, "email": "", "stage": str(lead.stage_id), "labels": [str(vip.pk)]}
    data.update({key: value for key, value in inline_management(page).items()})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(lead.labels.all()) == [vip]
    assert Event.objects.filter(type=Event.Type.LEAD_CHANGED, lead=lead).exists()
    listed = admin_client.get(reverse("admin:leads_lead_changelist"), {"labels__id__exact": str(vip.pk)})
    assert list(listed.context["cl"].result_list) == [lead]
    assert "label-red" in admin_client.get(reverse("admin:leads_label_changelist")).content.decode()


def inline_management(page: str) -> dict:
    """The management form values of the change page's inlines, as the browser would post them."""
    return dict(re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"[^>]*value="(\d+)"', page))


def test_the_admin_deletes_labels_through_the_service_so_their_leads_screens_follow(admin_client):
    vip, wedding, kept = LabelFactory(name="VIP"), LabelFactory(name="Wedding"), LabelFactory(name="Kept")
    first, second = LeadFactory(), LeadFactory()
    first.labels.add(vip, kept)
    second.labels.add(wedding)
    response = admin_client.post(reverse("admin:leads_label_delete", args=[vip.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert list(Event.objects.filter(type=Event.Type.LEAD_CHANGED).values_list("lead_id", flat=True)) == [first.pk]
    response = admin_client.post(
        reverse("admin:leads_label_changelist"),
        {"action": "delete_selected", "_selected_action": [str(wedding.pk)], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(Label.objects.all()) == [kept] and list(first.labels.all()) == [kept] and not second.labels.exists()
    assert Event.objects.filter(type=Event.Type.LEAD_CHANGED, lead_id=second.pk).count() == 1
