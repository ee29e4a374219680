"""A NUL character typed into a page's address or form is an error shown, never a 500 (PostgreSQL refuses NUL)."""

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse

from leads.tests.factories import LeadFactory, StageFactory
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db

INBOX = reverse("inbox:index")


def conversation(**lead):
    message = InboundMessageFactory(lead=LeadFactory(**lead))
    return lead_activity_refresh(lead=message.lead)


def test_inbox_search_with_a_nul_shows_the_error_and_the_inbox(staff_client):
    conversation(name="Ayşe")
    response = staff_client.get(INBOX, {"q": "Ay\x00şe"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Search: Null characters are not allowed." in page
    assert "Ayşe" in page  # the other filters still apply: here none, so every conversation


def test_inbox_filters_are_validated_and_the_valid_ones_kept(staff_client):
    stage = StageFactory(name="Teklif")
    conversation(name="Teklifte", stage=stage)
    conversation(name="Yeni gelen")
    response = staff_client.get(INBOX, {"stage": str(stage.pk), "channel": "fax\x00"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    rows = response.content.decode()
    assert "Channel: Select a valid choice. That choice is not one of the available choices." in rows
    assert "Teklifte" in rows and "Yeni gelen" not in rows
    rows = staff_client.get(INBOX, {"stage": "not-a-stage"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Stage: Select a valid choice. That choice is not one of the available choices." in rows
    assert "Yeni gelen" in rows
    rows = staff_client.get(INBOX, {"q": "x" * 101}, HTTP_HX_REQUEST="true").content.decode()
    assert "Search: Ensure this value has at most 100 characters (it has 101)." in rows


def test_every_admin_page_refuses_a_nul_in_its_address_with_a_message(staff_client):
    """`?status=%00` was a 500 on PostgreSQL on every changelist with a text or choices filter."""
    MessageFactory()
    WebhookEventFactory()
    checked = 0
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        changelist = staff_client.get(url)
        assert changelist.status_code == 200, url
        parameters = {p for spec in changelist.context["cl"].filter_specs for p in spec.expected_parameters()}
        # A filter's own parameters, and a plain lookup on a filtered field (`status`, not `status__exact`).
        parameters |= {p.split("__")[0] for p in parameters}
        for parameter in parameters:
            response = staff_client.get(url, {parameter: "a\x00b"}, follow=True)
            assert response.status_code == 200, (url, parameter)
            assert response.redirect_chain == [(url, 302)], (url, parameter)
            assert "The address contained a NUL character, so its filters were cleared." in response.content.decode()
            checked += 1
    assert checked >= 20
    change = reverse("admin:messaging_message_change", args=[MessageFactory().pk])
    assert staff_client.get(change, {"_changelist_filters": "status=\x00"}).status_code == 302


def is_key(model, value) -> bool:
    try:
        model._meta.pk.to_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("selected", ["not-a-key", "a\x00b", "1"])
def test_an_action_on_rows_that_are_not_the_models_keys_is_refused_with_a_message(staff_client, selected):
    """A forged `_selected_action` reached `pk__in` and was a 500 (a UUID field refuses "1", an integer one "x")."""
    MessageFactory()
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        if is_key(model, selected):
            continue
        data = {"action": "delete_selected", "_selected_action": [selected], "index": "0"}
        response = staff_client.post(url, data, follow=True)
        assert response.status_code == 200, url
        assert "The selected rows were not recognised: select them again." in response.content.decode(), url
