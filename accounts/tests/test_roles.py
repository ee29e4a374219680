"""Roles as data: who reaches which page, API endpoint and admin section (accounts.permissions, accounts.roles)."""

import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from accounts.roles import AGENTS, OPERATORS, ROLES
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.models import Message, WebhookEvent
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, WebhookEventFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

ANONYMOUS, AGENT, STAFF, OPERATOR, SUPERUSER = (
    "anonymous",
    "agent",
    "staff without permissions",
    "operator",
    "superuser",
)
INBOX = {AGENT, OPERATOR, SUPERUSER}
ADMIN = {OPERATOR, SUPERUSER}

# (what, method, path, data, who may, the status they get)
ENDPOINTS = [
    ("page", "get", "/inbox/", None, INBOX, 200),
    ("page", "get", "/inbox/unread", None, INBOX, 200),
    ("page", "get", "/inbox/{lead}/", None, INBOX, 200),
    ("page", "get", "/inbox/{lead}/messages/{message}/", None, INBOX, 200),
    ("page", "get", "/inbox/{lead}/preview?template={template}", None, INBOX, 200),
    ("page", "post", "/inbox/{lead}/send", {"body": "Merhaba"}, INBOX, 302),
    ("page", "post", "/inbox/{lead}/messages/{message}/star", {}, INBOX, 302),
    ("page", "post", "/inbox/{lead}/details", {"name": "Ayşe Yılmaz"}, INBOX, 302),
    ("page", "get", "/messages/media/{missing}", None, INBOX, 404),
    ("page", "get", "/events/stream", None, INBOX, 200),
    ("api", "get", "/api/debug/messages?phone=05551234567", None, INBOX, 200),
    ("api", "get", "/api/debug/webhook-diagnostics", None, ADMIN, 200),
    ("api", "post", "/api/leads/{lead}/messages", {"body": "Merhaba"}, INBOX, 201),
    ("api", "post", "/api/templates/sync-missing", {}, ADMIN, 502),  # allowed; no Twilio account in tests
    ("api", "get", "/api/templates/{template}/preview?lead={lead}", None, INBOX, 200),
    ("api", "get", "/api/messages/events", None, INBOX, 200),
    ("admin", "get", "/admin/", None, {STAFF, *ADMIN}, 200),
    ("admin", "get", "/admin/leads/lead/", None, ADMIN, 200),
    ("admin", "get", "/admin/leads/lead/{lead}/change/", None, ADMIN, 200),
    ("admin", "get", "/admin/leads/stage/", None, ADMIN, 200),
    ("admin", "get", "/admin/messaging/message/", None, ADMIN, 200),
    ("admin", "get", "/admin/messaging/webhookevent/", None, ADMIN, 200),
    ("admin", "get", "/admin/messaging/providerlog/", None, ADMIN, 200),
    ("admin", "get", "/admin/campaigns/campaign/", None, ADMIN, 200),
    ("admin", "get", "/admin/campaigns/campaignrecipient/", None, ADMIN, 200),
    ("admin", "get", "/admin/templates_app/template/", None, ADMIN, 200),
    ("admin", "post", "/admin/templates_app/template/sync/", {}, ADMIN, 302),
    ("admin", "get", "/admin/notifications/event/", None, ADMIN, 200),
    ("admin", "get", "/admin/accounts/loginfailure/", None, ADMIN, 200),
    ("admin", "get", "/admin/accounts/signin/", None, ADMIN, 200),
]


@pytest.fixture
def objects():
    lead = LeadFactory(phone="+905551234567")
    message = InboundMessageFactory(lead=lead, body="Merhaba", created_at=timezone.now())
    lead_activity_refresh(lead=lead)
    return {"lead": lead.pk, "message": message.pk, "template": TemplateFactory().pk, "missing": uuid.uuid4()}


@pytest.fixture
def client_as(user_in_role, django_user_model):
    def make(role):
        client = Client()
        if role == AGENT:
            client.force_login(user_in_role("agent", AGENTS))
        elif role == OPERATOR:
            client.force_login(user_in_role("operator", OPERATORS, is_staff=True))
        elif role == STAFF:
            client.force_login(django_user_model.objects.create_user(username="staff", is_staff=True))
        elif role == SUPERUSER:
            client.force_login(django_user_model.objects.create_user(username="root", is_staff=True, is_superuser=True))
        return client

    return make


@pytest.mark.parametrize("role", [ANONYMOUS, AGENT, STAFF, OPERATOR, SUPERUSER])
@pytest.mark.parametrize(
    ("what", "method", "path", "data", "allowed", "ok"), ENDPOINTS, ids=[f"{e[1]} {e[2]}" for e in ENDPOINTS]
)
def test_who_reaches_what(client_as, objects, role, what, method, path, data, allowed, ok):
    client = client_as(role)
    url = path.format(**objects)
    response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
    location = response.get("Location", "")
    if role in allowed:
        assert response.status_code == ok, response.content[:300]
        assert "login" not in location
    elif role == ANONYMOUS and what == "api":
        assert response.status_code in (401, 403)
    elif role == ANONYMOUS or (role == AGENT and what == "admin"):  # the admin is for staff only
        assert response.status_code == 302
        assert location.startswith("/admin/login/" if what == "admin" else "/accounts/login/")
    else:
        assert response.status_code == 403
        if what == "page":
            assert "Not allowed" in response.content.decode()
    if role not in allowed:
        assert not Message.objects.exclude(pk=objects["message"]).exists()  # nothing was sent
        assert not Message.objects.filter(is_starred=True).exists()
        assert not Lead.objects.filter(name="Ayşe Yılmaz").exists()


def test_the_migration_made_the_roles_as_listed():
    for name, perms in ROLES.items():
        group = Group.objects.get(name=name)
        held = {
            f"{app}.{codename}"
            for app, codename in group.permissions.values_list("content_type__app_label", "codename")
        }
        assert held == set(perms), f"{name}: add a migration that calls accounts.roles.roles_sync"


def staff_with(django_user_model, *perms):
    user = django_user_model.objects.create_user(username="-".join(perms) or "bare", is_staff=True)
    for dotted in perms:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(user)
    return client


def actions_offered(client, path):
    response = client.get(path)
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action is offered
    return {value for value, _label in form.fields["action"].choices if value} if form else set()


def test_admin_actions_need_the_same_permissions_as_the_pages(client_as, django_user_model):
    operator = client_as(OPERATOR)
    viewer = staff_with(django_user_model, "messaging.view_message", "messaging.view_webhookevent", "leads.view_lead")

    assert actions_offered(operator, "/admin/messaging/message/") >= {"mark_read", "star", "unstar", "resend"}
    assert actions_offered(viewer, "/admin/messaging/message/") == set()
    assert "reprocess" in actions_offered(operator, "/admin/messaging/webhookevent/")
    assert actions_offered(viewer, "/admin/messaging/webhookevent/") == set()
    assert "send_campaign" in actions_offered(operator, "/admin/leads/lead/")
    assert actions_offered(viewer, "/admin/leads/lead/") == set()
    assert "run_again" in actions_offered(operator, "/admin/campaigns/campaign/")

    # Posting an action that is not offered does nothing.
    message = InboundMessageFactory(is_read=False)
    lead_activity_refresh(lead=message.lead)
    event = WebhookEventFactory()
    viewer.post("/admin/messaging/message/", {"action": "mark_read", "_selected_action": [message.pk]})
    viewer.post("/admin/messaging/webhookevent/", {"action": "reprocess", "_selected_action": [event.pk]})
    message.refresh_from_db()
    assert not message.is_read
    assert WebhookEvent.objects.get(pk=event.pk).attempts == event.attempts
    operator.post("/admin/messaging/message/", {"action": "mark_read", "_selected_action": [message.pk]})
    message.refresh_from_db()
    assert message.is_read


def test_the_template_sync_button_needs_the_change_permission(django_user_model):
    viewer = staff_with(django_user_model, "templates_app.view_template")
    assert viewer.post("/admin/templates_app/template/sync/").status_code == 403
