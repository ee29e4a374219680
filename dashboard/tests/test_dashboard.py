import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone

from accounts.roles import AGENTS, OPERATORS
from campaigns.models import CampaignRecipient
from campaigns.tests.factories import CampaignFactory, CampaignRecipientFactory
from conversations.models import Conversation
from conversations.tests.factories import ConversationFactory
from dashboard.admin import VIEW_DASHBOARD
from dashboard.charts import bar_rows, day_chart, nice_ceiling, tick_count
from dashboard.templatetags.durations import short_duration
from leads.models import Stage
from leads.tests.factories import LeadFactory, StageFactory
from messaging.models import Message, MessageStatus, WebhookEvent
from messaging.selectors import SIGNATURE_REJECTIONS_KEY
from messaging.tests.factories import InboundMessageFactory, MessageFactory, WebhookEventFactory
from retention.models import PruneRun

pytestmark = pytest.mark.django_db

URL = "/admin/"


def ago(**kwargs) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**kwargs)


LOST_AGO = {"minutes": 20}  # past the hand-off grace


def outbound_today() -> int:
    """make_data's outbound messages of the current local day: the read one, the campaign's, and the lost one unless
    the day began less than LOST_AGO ago."""
    return 2 + (timezone.localtime(ago(**LOST_AGO)).date() == timezone.localdate())


def make_data(*, scale: int = 1):
    """A little of everything the dashboard shows; `scale` times as many rows of each."""
    stage = Stage.objects.filter(name="Teklif verildi").first() or StageFactory(name="Teklif verildi", position=1)
    for n in range(scale):
        unread = LeadFactory(stage=stage, unread_count=2, last_inbound_at=ago(hours=2))
        InboundMessageFactory(lead=unread)
        MessageFactory(lead=unread, status=MessageStatus.READ)
        MessageFactory(lead=unread, status=MessageStatus.DELIVERED, created_at=ago(days=3))
        MessageFactory(
            lead=unread, status=MessageStatus.FAILED, error_code=30003, provider="twilio", created_at=ago(days=10)
        )
        WebhookEventFactory(received_at=ago(minutes=5))  # unprocessed past the sweep's grace: lost
        WebhookEventFactory(processed_at=timezone.now(), outcome=WebhookEvent.Outcome.REJECTED, received_at=ago(days=1))
        campaign = CampaignFactory(name=f"Yaz kampanyası {n} {scale}")
        sent = MessageFactory(status=MessageStatus.DELIVERED, bulk=True)  # as messages_queue_bulk queues it
        CampaignRecipientFactory(campaign=campaign, outcome=CampaignRecipient.Outcome.QUEUED, message=sent)
        CampaignRecipientFactory(campaign=campaign, outcome=CampaignRecipient.Outcome.SKIPPED_OPTED_OUT)
        agent = get_user_model().objects.create_user(f"agent-{n}-{scale}", first_name=f"Ajan {n}")
        hour = datetime.timedelta(hours=1)
        opened = timezone.now() - 5 * hour
        ConversationFactory(assignee=agent, opened_at=opened, first_response_at=opened + datetime.timedelta(minutes=12))
        ConversationFactory(  # answered after an hour, resolved after four
            assignee=agent,
            opened_at=opened,
            first_response_at=opened + hour,
            status=Conversation.Status.RESOLVED,
            resolved_at=opened + 4 * hour,
        )
    Message.objects.create(lead=LeadFactory(), created_at=ago(**LOST_AGO))  # a send no worker took: lost
    PruneRun.objects.create(
        results={
            "webhook_events": {"days": 30, "deleted": 1234, "error": ""},
            "notification_events": {"days": 7, "deleted": 56, "error": ""},
            "provider_logs": {"days": 14, "deleted": 7, "error": ""},
        },
        finished_at=timezone.now(),
    )


def test_the_admin_index_is_the_dashboard_with_every_figure(staff_client):
    make_data()
    cache.set(SIGNATURE_REJECTIONS_KEY.format(day=timezone.localdate()), 3)
    response = staff_client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    figures = response.context["figures"]
    stages = {stage["name"]: stage for stage in figures["stages"]}
    assert stages["Teklif verildi"] == {**stages["Teklif verildi"], "total": 1, "unread": 1, "open": 1}
    assert figures["messages"]["totals"]["1"] == {"inbound": 1, "outbound": outbound_today()}
    assert figures["messages"]["funnel"]["30"] == {"queued": 5, "sent": 3, "delivered": 3, "read": 1, "failed": 1}
    assert figures["messages"]["funnel"]["7"]["failed"] == 0  # the failure was ten days ago
    assert figures["webhooks"]["lost"] == 2 and figures["webhooks"]["rejected"] == 1
    assert figures["webhooks"]["signature_refusals"] == {"today": 3, "last_7_days": 3}
    [campaign] = figures["campaigns"]
    assert (campaign["total"], campaign["sent"], campaign["skipped"], campaign["percent"]) == (2, 1, 1, 100)
    page = response.content.decode()
    assert "Yaz kampanyası 0 1" in page and "dash-chart" in page
    assert "The phone is unreachable" in page  # error 30003, as the provider's table explains it
    assert "1234" in page  # what retention pruned
    assert 'aria-label="Dashboard"' in page
    assert "/admin/leads/lead/" in page  # the list of what the admin manages stays


def test_the_dashboard_reads_turkish(staff_client):
    make_data()
    staff_client.cookies["django_language"] = "tr"
    page = staff_client.get(URL, HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "Teklif verildi" in page
    assert 'lang="tr"' in page
    # Turkish writes decimals with a comma: the charts' coordinates must not follow it
    svg = [part.split("</svg>")[0] for part in page.split("<svg class=")[1:]]
    assert svg and not any(re.search(r'(?:x|y|width|height)="\d+,\d', chart) for chart in svg)
    assert re.search(r'<rect class="(?:inbound|outbound)" x="\d+\.\d"', page)


def test_the_query_count_does_not_grow_with_the_data(staff_client, django_assert_num_queries):
    make_data()
    staff_client.get(URL)  # warm: the session and the user are read once per request either way
    # session, user, 10 for the figures, 4 for the reports (opened, answered, resolved, the agents), the recent actions
    with django_assert_num_queries(17) as small:
        staff_client.get(URL)
    make_data(scale=5)
    with django_assert_num_queries(len(small.captured_queries)):
        staff_client.get(URL)


def test_staff_without_the_permissions_get_the_list_alone(client, user_in_role):
    client.force_login(user_in_role("clerk", AGENTS, is_staff=True))
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["figures"] is None
    assert "dash-chart" not in response.content.decode()


def test_empty_days_are_zero_and_the_chart_has_thirty_columns(staff_client):
    MessageFactory(created_at=ago(days=2))
    figures = staff_client.get(URL).context["figures"]
    days = figures["messages"]["days"]
    assert len(days) == 30 and days[-1]["day"] == timezone.localdate()
    assert [d["outbound"] for d in days].count(0) == 29
    assert len(figures["messages_chart"]["columns"]) == 30


def test_lost_is_computed_from_the_grace_periods(staff_client):
    WebhookEventFactory(received_at=ago(seconds=5))  # within the sweep's grace: waiting, not lost
    WebhookEventFactory(received_at=ago(hours=1), processed_at=ago(minutes=59))  # processed
    Message.objects.create(lead=LeadFactory(), created_at=ago(minutes=1))  # within the hand-off grace
    webhooks = staff_client.get(URL).context["figures"]["webhooks"]
    assert (webhooks["waiting"], webhooks["lost"]) == (1, 0)
    WebhookEvent.objects.update(received_at=ago(minutes=1))
    Message.objects.update(created_at=ago(minutes=11))
    webhooks = staff_client.get(URL).context["figures"]["webhooks"]
    assert (webhooks["lost_events"], webhooks["lost_sends"]) == (1, 1)


def test_stages_without_leads_are_listed(staff_client):
    names = [stage["name"] for stage in staff_client.get(URL).context["figures"]["stages"]]
    assert names == list(Stage.objects.values_list("name", flat=True))


def test_chart_geometry():
    assert [nice_ceiling(n) for n in (0, 1, 3, 10, 11, 270, 5001)] == [1, 1, 5, 10, 20, 500, 10000]
    chart = day_chart([{"day": n, "inbound": n, "outbound": 2 * n} for n in range(30)])
    tallest = max(bar.height for column in chart["columns"] for bar in column["bars"])
    assert chart["ticks"][-1]["value"] == 100 and tallest == pytest.approx(0.58 * (220 - 38), abs=0.1)
    rows = bar_rows([("Queued", 200), ("Read", 50)], scale_to=200)["rows"]
    assert [tick_count(top) for top in (1, 2, 5, 10, 20, 50, 100, 200)] == [1, 2, 5, 5, 5, 5, 5, 5]
    assert [row["percent"] for row in rows] == [100, 25]
    assert bar_rows([("Queued", 0)], scale_to=0)["rows"][0]["width"] == 0


def test_the_dashboard_reports_the_teams_conversations(staff_client):
    make_data()
    response = staff_client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    reports = response.context["figures"]["reports"]
    assert (reports["opened"], reports["resolved"]) == (2, 1)
    assert reports["total"]["first_response"]["median"] == datetime.timedelta(minutes=12)
    [row] = reports["agents"]
    assert row["agent"].first_name == "Ajan 0" and row["resolution"]["median"] == datetime.timedelta(hours=4)
    assert len(reports["chart"]["columns"]) == 30
    page = response.content.decode()
    assert 'id="dash-report-agents"' in page and "Ajan 0" in page
    assert ">12 min<" in page and ">4 h 00 min<" in page
    assert 'id="conversations-chart-title"' in page and '<rect class="opened"' in page


def test_the_reports_need_the_permission_to_read_conversations(client, django_user_model, user_in_role):
    """Staff who may see the dashboard but not the conversations' records get the dashboard without the reports;
    an operator gets both."""
    make_data()
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    for dotted in VIEW_DASHBOARD:
        app_label, codename = dotted.split(".")
        clerk.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client.force_login(clerk)
    response = client.get(URL)
    assert response.context["figures"] is not None and response.context["figures"]["reports"] is None
    assert "dash-reports" not in response.content.decode()
    client.force_login(user_in_role("operator", OPERATORS, is_staff=True))
    response = client.get(URL)
    assert response.context["figures"]["reports"]["opened"] == 2
    assert "dash-reports" in response.content.decode()


def test_short_durations():
    cases = [None, datetime.timedelta(seconds=42), datetime.timedelta(minutes=12, seconds=59),
             datetime.timedelta(hours=3, minutes=5), datetime.timedelta(days=2, hours=4, minutes=59)]  # fmt: skip
    assert [short_duration(value) for value in cases] == ["–", "42 s", "12 min", "3 h 05 min", "2 d 4 h"]


def test_the_day_charts_ticks_say_the_values_where_they_stand():
    """An axis up to 10 in four steps put "2" where 2.5 stood: every tick is a whole number at its height now."""
    chart = day_chart([{"day": n, "inbound": 7, "outbound": 1} for n in range(3)])
    assert [tick["value"] for tick in chart["ticks"]] == [0, 2, 4, 6, 8, 10]
    baseline, top = chart["ticks"][0]["y"], chart["ticks"][-1]["y"]
    for tick in chart["ticks"]:
        assert tick["y"] == pytest.approx(baseline - (baseline - top) * tick["value"] / 10)
