"""The admin: subscriptions made with checkboxes and checked URLs, the secret for its owner, ping and resend buttons,
deliveries read only; every action in the admin log."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from accounts.roles import AGENTS, OPERATORS
from webhooks.models import Delivery, Subscription

from .factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:webhooks_subscription_add")


def form(**fields):
    return {
        "name": "ERP",
        "url": "https://hooks.example.com/in",
        "events": ["lead.created"],
        "is_active": "on",
        **fields,
    }


@pytest.fixture
def operator(client, user_in_role):
    user = user_in_role("operator", OPERATORS, is_staff=True)
    client.force_login(user)
    return user


def test_an_operator_makes_a_subscription_and_alone_reads_its_secret(client, operator, receiver, user_in_role):
    response = client.post(ADD, form(url=receiver.url("/ok"), events=["lead.created", "lead.updated"]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    subscription = Subscription.objects.get()
    assert subscription.events == ["lead.created", "lead.updated"]
    assert subscription.created_by == operator and subscription.secret.startswith("whsec_")
    assert LogEntry.objects.filter(object_id=str(subscription.pk)).exists()  # the admin's own "Added" line

    page = client.get(reverse("admin:webhooks_subscription_change", args=[subscription.pk]))
    assert subscription.secret in page.content.decode()
    assert 'type="checkbox" name="events" value="message.received"' in page.content.decode()
    colleague = user_in_role("colleague", OPERATORS, is_staff=True)
    client.force_login(colleague)
    page = client.get(reverse("admin:webhooks_subscription_change", args=[subscription.pk]))
    assert page.status_code == 200 and subscription.secret not in page.content.decode()
    assert "Shown to the one who made this subscription only." in page.content.decode()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/", "cloud metadata"),
        ("http://localhost/x", "loopback"),
        ("ftp://x.example.com/", "only"),
    ],
)
def test_a_refused_url_is_said_beside_the_field(client, operator, url, words):
    response = client.post(ADD, form(url=url))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors["url"])
    assert not Subscription.objects.exists()


def test_no_event_is_refused(client, operator):
    response = client.post(ADD, form(events=[]))
    assert response.status_code == 200 and "events" in response.context["adminform"].form.errors


def test_the_ping_button_sends_and_says_what_came_back(client, operator, receiver):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    page = client.get(reverse("admin:webhooks_subscription_change", args=[subscription.pk]))
    ping_url = reverse("admin:webhooks_subscription_ping", args=[subscription.pk])
    assert ping_url in page.content.decode()
    response = client.post(ping_url, follow=True)
    text = " ".join(str(message) for message in response.context["messages"])
    assert "answered HTTP 200" in text
    assert receiver.requests[0]["headers"]["X-HappyCRM-Event"] == "ping"
    assert LogEntry.objects.filter(object_id=str(subscription.pk), change_message__contains="answered HTTP 200")
    assert client.get(ping_url).status_code == 405


def test_the_ping_action_says_a_failure(client, operator, receiver):
    subscription = SubscriptionFactory(url=receiver.url("/fail"))
    response = client.post(
        reverse("admin:webhooks_subscription_changelist"),
        {"action": "ping", "_selected_action": [subscription.pk]},
        follow=True,
    )
    assert "failed: The receiver answered HTTP 500." in " ".join(str(m) for m in response.context["messages"])


def test_a_disabled_subscription_shows_why_and_is_enabled_again(client, operator, receiver):
    subscription = SubscriptionFactory(
        url=receiver.url("/ok"), is_active=False, failure_count=10, disabled_reason="Disabled after 10 failed …"
    )
    listing = client.get(reverse("admin:webhooks_subscription_changelist")).content.decode()
    assert "Disabled after 10 failed …" in listing
    client.post(
        reverse("admin:webhooks_subscription_changelist"),
        {"action": "enable", "_selected_action": [subscription.pk]},
    )
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.failure_count == 0 and subscription.disabled_reason == ""
    assert LogEntry.objects.filter(object_id=str(subscription.pk), change_message="Enabled again.").exists()


def test_deliveries_are_listed_filtered_and_read(client, operator, django_assert_max_num_queries):
    subscription = SubscriptionFactory()
    for n in range(5):
        Delivery.objects.create(
            subscription=subscription,
            event="lead.created",
            event_id=n,
            payload={"event": "lead.created", "data": {"n": n}},
            status="failed" if n % 2 else "succeeded",
            response_status=500 if n % 2 else 200,
            response_body="<b>nope</b>",
            error="The receiver answered HTTP 500." if n % 2 else "",
        )
    changelist = reverse("admin:webhooks_delivery_changelist")
    with django_assert_max_num_queries(12):
        response = client.get(changelist, {"status__exact": "failed"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    assert client.get(changelist, {"subscription__id__exact": subscription.pk}).context["cl"].result_count == 5
    delivery = Delivery.objects.filter(status="failed").first()
    page = client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk])).content.decode()
    assert "&lt;b&gt;nope&lt;/b&gt;" in page  # the receiver's answer, escaped
    assert "&quot;n&quot;: " in page  # the payload sent
    assert "The receiver answered HTTP 500." in page
    assert client.get(reverse("admin:webhooks_delivery_add")).status_code == 403
    assert client.post(reverse("admin:webhooks_delivery_delete", args=[delivery.pk])).status_code == 403


def test_the_resend_button_queues_a_new_delivery(client, operator, receiver, django_capture_on_commit_callbacks):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    original = Delivery.objects.create(
        subscription=subscription, event="lead.created", event_id=3, payload={"event": "lead.created"}, status="failed"
    )
    resend_url = reverse("admin:webhooks_delivery_resend", args=[original.pk])
    assert resend_url in client.get(reverse("admin:webhooks_delivery_change", args=[original.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resend_url)
    copy = Delivery.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{copy.pk}/change/")
    assert copy.status == "succeeded" and copy.event_id == 3
    assert LogEntry.objects.filter(object_id=str(subscription.pk), change_message__contains="resent as").exists()


def test_agents_see_nothing_of_webhooks(client, user_in_role):
    client.force_login(user_in_role("agent", AGENTS, is_staff=True))
    subscription = SubscriptionFactory()
    delivery = Delivery.objects.create(subscription=subscription, event="ping", payload={})
    assert client.get(reverse("admin:webhooks_subscription_changelist")).status_code == 403
    assert client.get(reverse("admin:webhooks_delivery_changelist")).status_code == 403
    assert client.post(reverse("admin:webhooks_subscription_ping", args=[subscription.pk])).status_code == 403
    assert client.post(reverse("admin:webhooks_delivery_resend", args=[delivery.pk])).status_code == 403
    assert Delivery.objects.count() == 1
