"""The agent sees that a lead opted out or in, and why: under the message that did it, above the thread while they
cannot be messaged, and in the refusal of a send (the composer's and the API's)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import sms, whatsapp_text
from messaging.models import Message
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory

pytestmark = pytest.mark.django_db

OPT_IN = "START, UNSTOP, YES, BAŞLA"  # the provider's (Twilio's, as the locmem stand-in keeps them), then ours


def conversation(client, lead) -> str:
    return client.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()


def test_an_opt_out_word_through_the_webhook_is_explained_under_the_message_and_above_the_thread(
    post_webhook, agent_client
):
    lead = LeadFactory(phone="+905551234567")
    post_webhook(whatsapp_text(body="Merhaba"))
    post_webhook(whatsapp_text(body="İPTAL"))
    page = conversation(agent_client, lead)
    assert page.count('class="consent-notice out"') == 1
    assert "Opted out: “İPTAL” is an opt-out word for WhatsApp." in page
    banner = re.search(r'<p class="banner warning" id="opted-out"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "This lead opted out on " in banner
    assert "(“İPTAL” is an opt-out word for WhatsApp)" in banner
    assert f"until they send an opt-in word: {OPT_IN}." in banner


def test_opting_in_again_and_the_providers_keywords_are_explained_too(post_webhook, agent_client):
    lead = LeadFactory(phone="+905321112233")
    post_webhook(sms(sender="+905321112233", body="STOP"))
    post_webhook(sms(sender="+905321112233", body="başla"))
    page = conversation(agent_client, lead)
    assert "Opted out: the provider&#x27;s keyword STOP." in page
    assert "Opted in: “başla” is an opt-in word for SMS." in page
    assert 'id="opted-out"' not in page


def test_a_send_to_an_opted_out_lead_is_refused_with_why_and_how_they_opt_in(post_webhook, agent_client):
    lead = LeadFactory(phone="+905551234567")
    post_webhook(whatsapp_text(body="ret"))
    response = agent_client.post(reverse("inbox:send", args=[lead.pk]), {"body": "Merhaba"}, HTTP_HX_REQUEST="true")
    assert response["HX-Retarget"] == "#composer-error"
    text = response.content.decode()
    assert "(“ret” is an opt-out word for WhatsApp)" in text and OPT_IN in text
    refused = agent_client.post(  # the API, through the same service
        reverse("api:v1:lead-messages", args=[lead.pk]), {"body": "Merhaba"}, content_type="application/json"
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "opted_out" and "“ret” is an opt-out word for WhatsApp" in error["message"]
    assert not Message.objects.filter(is_from_lead=False).exists()


def test_an_opt_out_without_a_message_of_the_lead_still_says_how_they_opt_in(agent_client):
    """The provider refused a send because the recipient had opted out there: no message of theirs says why."""
    lead = LeadFactory(phone="+905551234567", opted_out_at=timezone.now())
    InboundMessageFactory(lead=lead, body="Merhaba")
    lead_activity_refresh(lead=lead)
    banner = re.search(r'id="opted-out"[^>]*>(.*?)</p>', conversation(agent_client, lead), re.S).group(1)
    assert banner == f"This lead opted out and cannot be messaged until they send an opt-in word: {OPT_IN}."


def test_the_explanation_costs_one_query_and_only_for_an_opted_out_lead(agent_client):
    talking, gone = LeadFactory(phone="+905551234567"), LeadFactory(phone="+905551234568")
    InboundMessageFactory(lead=talking, body="Merhaba")
    InboundMessageFactory(
        lead=gone, body="İptal", opt_change="out", content={"consent": {"by": "word", "word": "İptal"}}
    )
    for lead in (talking, gone):
        lead_activity_refresh(lead=lead)
    gone.opted_out_at = timezone.now()
    gone.save()
    conversation(agent_client, talking), conversation(agent_client, gone)
    with CaptureQueriesContext(connection) as plain:
        conversation(agent_client, talking)
    with CaptureQueriesContext(connection) as opted_out:
        page = conversation(agent_client, gone)
    assert "(“İptal” is an opt-out word for WhatsApp)" in page
    assert len(opted_out) == len(plain) + 1
