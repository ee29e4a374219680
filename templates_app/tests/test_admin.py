import pytest
from django.urls import reverse

from templates_app.models import Template
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


def test_template_changelist_filters_and_search(staff_client):
    TemplateFactory(name="randevu_hatirlatma")
    TemplateFactory(name="kampanya", approval_status=Template.ApprovalStatus.REJECTED, rejection_reason="spam")
    url = reverse("admin:templates_app_template_changelist")
    response = staff_client.get(url, {"approval_status__exact": "rejected"})
    assert [t.name for t in response.context["cl"].result_list] == ["kampanya"]
    response = staff_client.get(url, {"q": "randevu"})
    assert [t.name for t in response.context["cl"].result_list] == ["randevu_hatirlatma"]


def test_synced_template_keeps_twilio_fields_read_only(staff_client):
    synced = TemplateFactory()
    page = staff_client.get(reverse("admin:templates_app_template_change", args=[synced.pk])).content.decode()
    assert 'name="content_sid"' not in page
    assert 'name="content"' not in page
    assert 'name="name"' in page


def test_local_template_is_editable(staff_client):
    response = staff_client.post(
        reverse("admin:templates_app_template_add"),
        {
            "name": "sms_hatirlatma",
            "content": "Merhaba {{1}}",
            "status": "active",
            "approval_status": "unsubmitted",
            "variables": "{}",
        },
    )
    assert response.status_code == 302
    template = Template.objects.get()
    assert template.content_sid is None


@pytest.mark.parametrize("variables", ['{"4": "\\u0000x"}', '{"\\u0000": "x"}', '["a\\u0000"]'])
def test_a_nul_inside_the_variables_is_a_form_error(staff_client, variables):
    """JSON spells a NUL as \\u0000; PostgreSQL refused it in jsonb (a 500)."""
    data = {"name": "yerel", "content": "Merhaba {{1}}", "status": "active", "approval_status": "unsubmitted"}
    response = staff_client.post(reverse("admin:templates_app_template_add"), {**data, "variables": variables})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not Template.objects.exists()
