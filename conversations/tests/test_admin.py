"""The operators' view of conversations: listed and filtered, changed only through the inbox's service."""

import pytest
from django.urls import reverse

from accounts.roles import OPERATORS
from conversations.models import Conversation
from notifications.models import Event

from .factories import ConversationFactory

pytestmark = pytest.mark.django_db

URL = reverse("admin:conversations_conversation_changelist")


def test_operators_take_and_resolve_through_the_service(client, user_in_role):
    operator = user_in_role("operator", OPERATORS, is_staff=True)
    client.force_login(operator)
    first, second = ConversationFactory(), ConversationFactory()
    assert client.get(URL).status_code == 200
    assert client.get(URL, {"status__exact": "open", "q": first.lead.name}).status_code == 200
    response = client.post(URL, {"action": "take", "_selected_action": [first.pk, second.pk]}, follow=True)
    assert "2 conversations taken." in [str(m) for m in response.context["messages"]]
    assert set(Conversation.objects.values_list("assignee", flat=True)) == {operator.pk}
    client.post(URL, {"action": "resolve", "_selected_action": [first.pk]})
    assert Conversation.objects.get(pk=first.pk).status == "resolved"
    assert Event.objects.filter(type=Event.Type.CONVERSATION_CHANGED).count() == 3  # every change announced
    assert client.get(reverse("admin:conversations_conversation_add")).status_code == 403
    assert client.post(reverse("admin:conversations_conversation_delete", args=[second.pk])).status_code == 403
