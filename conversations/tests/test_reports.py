"""The team's reports, computed by the database from the episodes: opened and resolved per local day, first-response
and resolution times (median, 90th percentile) per day, per agent and over the period."""

import datetime

import pytest
from django.utils import timezone

from conversations.models import Conversation
from conversations.selectors import conversation_reports
from conversations.services import conversation_reopen, conversations_record_inbound, conversations_resolve
from happycrm.days import day_start
from leads.tests.factories import LeadFactory

from .factories import ConversationFactory

pytestmark = pytest.mark.django_db

Status = Conversation.Status
MIN, HOUR = datetime.timedelta(minutes=1), datetime.timedelta(hours=1)


def local(days_ago: int, hour: int, minute: int = 0) -> datetime.datetime:
    """A local (TIME_ZONE) time `days_ago` days before today."""
    return day_start(timezone.localdate() - datetime.timedelta(days=days_ago)) + datetime.timedelta(
        hours=hour, minutes=minute
    )


def episode(*, assignee=None, opened_at, answered_after=None, resolved_after=None, lead=None) -> Conversation:
    return ConversationFactory(
        lead=lead or LeadFactory(),
        assignee=assignee,
        opened_at=opened_at,
        first_response_at=opened_at + answered_after if answered_after is not None else None,
        status=Status.RESOLVED if resolved_after is not None else Status.OPEN,
        resolved_at=opened_at + resolved_after if resolved_after is not None else None,
    )


def day(report: dict, days_ago: int) -> dict:
    wanted = timezone.localdate() - datetime.timedelta(days=days_ago)
    [found] = [row for row in report["days"] if row["day"] == wanted]
    return found


def times(figures: dict) -> tuple:
    return figures["count"], figures["median"], figures["p90"]


@pytest.fixture
def team(django_user_model):
    """Ayşe and Deniz, and an agent who left (deleted after answering)."""
    return (
        django_user_model.objects.create_user("ayse", first_name="Ayşe"),
        django_user_model.objects.create_user("deniz", first_name="Deniz"),
        django_user_model.objects.create_user("eski", first_name="Eski"),
    )


@pytest.fixture
def history(team):
    """Five days ago at 10:00, eight episodes; two days later the first lead writes again."""
    ayse, deniz, gone = team
    at = local(5, 10)
    first = episode(assignee=ayse, opened_at=at, answered_after=2 * MIN, resolved_after=HOUR)
    episode(assignee=ayse, opened_at=at, answered_after=10 * MIN, resolved_after=3 * HOUR)
    episode(assignee=ayse, opened_at=at, answered_after=4 * MIN)  # answered, still open
    reopened = episode(assignee=deniz, opened_at=at, answered_after=30 * MIN, resolved_after=2 * HOUR)
    conversation_reopen(conversation=reopened)
    conversations_resolve(conversations=[reopened], at=at + 5 * HOUR)  # counts once, at its last resolution
    episode(assignee=deniz, opened_at=at + HOUR, answered_after=datetime.timedelta(0))  # Deniz wrote first
    episode(assignee=gone, opened_at=at, answered_after=20 * MIN, resolved_after=HOUR)
    episode(opened_at=at)  # nobody answered, still open
    episode(opened_at=at, resolved_after=8 * HOUR)  # resolved without an answer (spam)
    episode(assignee=ayse, opened_at=local(40, 10), answered_after=MIN, resolved_after=HOUR)  # before the period
    conversations_record_inbound(received={first.lead_id: local(3, 9)})  # the next episode, not answered yet
    gone.delete()
    return team


def test_opened_and_resolved_per_day_with_those_never_answered(history):
    report = conversation_reports(days=30)
    assert len(report["days"]) == 30 and report["days"][-1]["day"] == timezone.localdate()
    busy = day(report, 5)
    assert (busy["opened"], busy["unanswered"], busy["resolved"]) == (8, 2, 5)
    again = day(report, 3)
    assert (again["opened"], again["unanswered"], again["resolved"]) == (1, 1, 0)
    assert (report["opened"], report["unanswered"]) == (9, 3)
    quiet = day(report, 1)
    assert (quiet["opened"], quiet["resolved"]) == (0, 0)
    assert times(quiet["first_response"]) == (0, None, None)


def test_response_and_resolution_times_are_the_median_and_the_90th_percentile(history):
    report = conversation_reports(days=30)
    busy = day(report, 5)
    # answered after 2, 4, 10, 20 and 30 minutes; the episode Deniz started answers nobody
    assert times(busy["first_response"]) == (5, 10 * MIN, 30 * MIN)
    # resolved after 1, 1, 3, 5 (reopened, resolved again) and 8 hours
    assert times(busy["resolution"]) == (5, 3 * HOUR, 8 * HOUR)
    assert times(report["total"]["first_response"]) == (5, 10 * MIN, 30 * MIN)
    assert times(report["total"]["resolution"]) == (5, 3 * HOUR, 8 * HOUR)


def test_times_per_agent_with_the_unassigned_and_the_deleted_agents_under_nobody(history):
    ayse, deniz, _gone = history
    rows = {row["agent"]: row for row in conversation_reports(days=30)["agents"]}
    assert list(rows) == [ayse, deniz, None]  # by name, nobody last
    assert times(rows[ayse]["first_response"]) == (3, 4 * MIN, 10 * MIN)
    assert times(rows[ayse]["resolution"]) == (2, HOUR, 3 * HOUR)
    assert times(rows[deniz]["first_response"]) == (1, 30 * MIN, 30 * MIN)
    assert times(rows[deniz]["resolution"]) == (1, 5 * HOUR, 5 * HOUR)
    assert times(rows[None]["first_response"]) == (1, 20 * MIN, 20 * MIN)  # the deleted agent's
    assert times(rows[None]["resolution"]) == (2, HOUR, 8 * HOUR)


def test_days_are_the_local_days_of_time_zone(settings):
    assert settings.TIME_ZONE == "Europe/Istanbul"  # UTC+3: these local days are not UTC's
    late = episode(opened_at=local(3, 22), answered_after=10 * MIN, resolved_after=90 * MIN)  # 23:30 local
    # Opened at 23:50, answered at 00:20 and resolved at 02:30 the next local day: still the first day in UTC.
    episode(opened_at=local(3, 23, 50), answered_after=30 * MIN, resolved_after=160 * MIN)
    episode(opened_at=day_start(timezone.localdate() - datetime.timedelta(days=29)) - MIN)  # before the period
    episode(opened_at=day_start(timezone.localdate() - datetime.timedelta(days=29)))  # its first minute
    report = conversation_reports(days=30)
    first, second = day(report, 3), day(report, 2)
    assert (first["opened"], first["resolved"], times(first["first_response"])) == (2, 1, (1, 10 * MIN, 10 * MIN))
    assert (second["opened"], second["resolved"], times(second["first_response"])) == (0, 1, (1, 30 * MIN, 30 * MIN))
    assert times(second["resolution"]) == (1, 160 * MIN, 160 * MIN)
    assert report["days"][0]["opened"] == 1
    assert timezone.localtime(late.resolved_at).date() == first["day"]


def test_an_even_count_takes_the_lower_middle_and_ties_are_fine(team):
    ayse = team[0]
    for minutes in (5, 5, 5, 60):
        episode(assignee=ayse, opened_at=local(1, 10), answered_after=minutes * MIN)
    report = conversation_reports(days=30)
    assert times(report["total"]["first_response"]) == (4, 5 * MIN, 60 * MIN)


def test_the_reports_take_four_queries_whatever_the_data(history, team, django_assert_num_queries):
    with django_assert_num_queries(4):  # opened per day, first responses, resolutions, the agents' names
        conversation_reports(days=30)
    for n in range(20):
        episode(assignee=team[n % 2], opened_at=local(n % 7, 9), answered_after=n * MIN, resolved_after=n * HOUR)
    with django_assert_num_queries(4):
        conversation_reports(days=30)


def test_nothing_to_report():
    report = conversation_reports(days=7)
    assert [row["opened"] for row in report["days"]] == [0] * 7
    assert report["agents"] == [] and times(report["total"]["resolution"]) == (0, None, None)
