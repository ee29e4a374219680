import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Q

from leads.models import Lead
from messaging.models import Message
from templates_app.models import Template

pytestmark = pytest.mark.django_db


def counts():
    return (Lead.objects.count(), Message.objects.count(), Template.objects.count(), get_user_model().objects.count())


def test_seed_demo_builds_a_living_crm_and_is_idempotent(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    first = counts()
    out = capsys.readouterr().out
    assert "Demo admin login: admin / happycrm-demo" in out

    call_command("seed_demo")
    assert counts() == first
    assert "0 templates, 0 leads, 0 messages created" in capsys.readouterr().out

    assert first[0] >= 5
    statuses = set(Message.objects.values_list("status", flat=True))
    assert {"received", "read", "delivered", "sent", "failed"} <= statuses
    assert Message.objects.filter(is_from_lead=True).exists()
    assert Message.objects.filter(template__isnull=False).exists()
    assert Message.objects.filter(error_code=63016).exists()
    assert Lead.objects.filter(event_date__isnull=False).count() >= 3
    assert Lead.objects.filter(is_unregistered=True).exists()
    assert Lead.objects.filter(opted_out_at__isnull=False).exists()
    assert set(Template.objects.values_list("approval_status", flat=True)) >= {"approved", "pending", "rejected"}


def test_demo_unread_counts_match_the_messages(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    leads = Lead.objects.annotate(
        real=Count("messages", filter=Q(messages__is_from_lead=True, messages__is_read=False))
    )
    assert all(lead.unread_count == lead.real for lead in leads)
    assert sum(lead.unread_count for lead in leads) > 0


def test_demo_admin_login_works(settings, client):
    settings.DEBUG = True
    call_command("seed_demo")
    assert client.login(username="admin", password="happycrm-demo")
    assert client.get("/admin/").status_code == 200


def test_demo_agent_uses_the_inbox_and_not_the_admin(settings, client, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    assert "Demo agent login: agent / happycrm-demo" in capsys.readouterr().out
    response = client.post("/accounts/login/", {"username": "agent", "password": "happycrm-demo"}, follow=True)
    assert response.redirect_chain[-1][0] == "/inbox/"
    assert "Yeni lead" in response.content.decode()
    assert client.get("/admin/").status_code == 302
    call_command("seed_demo")  # again: still one agent, still in Agents
    assert get_user_model().objects.get(username="agent").groups.get().name == "Agents"


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("seed_demo")
    assert counts() == (0, 0, 0, 0)


def test_seed_demo_adds_nothing_after_the_demo_was_used(settings, capsys, django_capture_on_commit_callbacks):
    """Sending a demo message again gives it a new SID (the simulator's, here the test backend's): a second
    seed_demo must not write that message again under its demo SID."""
    from messaging.services.outbound import message_resend

    settings.DEBUG = True
    call_command("seed_demo")
    lead = Lead.objects.get(phone="+905551234567")  # wrote an hour ago: the window is open
    message = lead.messages.filter(is_from_lead=False, template__isnull=True).earliest("created_at")
    Message.objects.filter(pk=message.pk).update(status="failed", error_code=30008)
    message.refresh_from_db()
    demo_sid = message.twilio_message_sid
    with django_capture_on_commit_callbacks(execute=True):
        message_resend(message=message)
    message.refresh_from_db()
    assert message.twilio_message_sid != demo_sid
    before = counts()
    capsys.readouterr()

    call_command("seed_demo")
    assert counts() == before
    assert "0 templates, 0 leads, 0 messages created" in capsys.readouterr().out
    assert [other.body for other in lead.messages.all()].count(message.body) == 1  # read: the body may be encrypted
