"""Model permissions kept in the shared cache: answered without a query once read, and never after a change."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import backends
from accounts.roles import AGENTS

pytestmark = pytest.mark.django_db

READ = ("leads.view_lead", "messaging.view_message")


def fresh(user):
    """The user as the next request loads it: nothing of this object's own memo."""
    return type(user).objects.get(pk=user.pk)


def permission_queries(user) -> int:
    with CaptureQueriesContext(connection) as queries:
        user.has_perms(READ)
    return sum("auth_permission" in query["sql"] for query in queries.captured_queries)


def test_a_set_once_read_is_answered_without_a_query(user_in_role):
    agent = user_in_role("agent", AGENTS)
    assert permission_queries(fresh(agent)) == 2  # the user's own and its groups'
    assert permission_queries(fresh(agent)) == 0
    assert fresh(agent).has_perms(READ)


def test_leaving_the_group_takes_the_permissions_away_at_once(user_in_role, django_capture_on_commit_callbacks):
    agent = user_in_role("agent", AGENTS)
    assert fresh(agent).has_perms(READ)
    with django_capture_on_commit_callbacks(execute=True):
        agent.groups.clear()
    assert not fresh(agent).has_perms(READ)
    agent.groups.add(Group.objects.get(name=AGENTS))
    assert fresh(agent).has_perms(READ)


@pytest.mark.parametrize("change", ["group_permission_removed", "group_deleted", "permission_deleted"])
def test_a_change_to_a_group_or_a_permission_is_seen_at_once(user_in_role, change):
    agent = user_in_role("agent", AGENTS)
    assert fresh(agent).has_perm("leads.view_lead")
    view_lead = Permission.objects.get(content_type__app_label="leads", codename="view_lead")
    if change == "group_permission_removed":
        Group.objects.get(name=AGENTS).permissions.remove(view_lead)
    elif change == "group_deleted":
        Group.objects.get(name=AGENTS).delete()
    else:
        view_lead.delete()
    assert not fresh(agent).has_perm("leads.view_lead")


def test_a_permission_given_to_the_user_is_seen_at_once(django_user_model):
    staff = django_user_model.objects.create_user(username="deniz", is_staff=True)
    assert not fresh(staff).has_perm("leads.view_lead")
    staff.user_permissions.add(Permission.objects.get(content_type__app_label="leads", codename="view_lead"))
    assert fresh(staff).has_perm("leads.view_lead")


def test_a_set_read_before_a_change_is_not_used_after_it(user_in_role, monkeypatch):
    """Another request read the old set while the change was being made, and stored it after: the generation it
    was read under is over, so it is read again."""
    agent = user_in_role("agent", AGENTS)
    original = backends.ModelBackend.get_all_permissions

    def read_then_change(self, user_obj, obj=None):
        permissions = original(self, user_obj, obj)  # the old set
        agent.groups.clear()  # meanwhile, the change and its new generation
        return permissions

    monkeypatch.setattr(backends.ModelBackend, "get_all_permissions", read_then_change)
    assert fresh(agent).has_perms(READ)  # this request still answers with what it read
    monkeypatch.setattr(backends.ModelBackend, "get_all_permissions", original)
    assert not fresh(agent).has_perms(READ)


def test_a_superuser_demoted_keeps_nothing_of_what_it_had(django_user_model):
    root = django_user_model.objects.create_user(username="root", is_staff=True, is_superuser=True)
    assert fresh(root).has_perm("leads.delete_lead")
    fresh(root).get_all_permissions()
    django_user_model.objects.filter(pk=root.pk).update(is_superuser=False)
    assert not fresh(root).has_perm("leads.delete_lead")
    assert fresh(root).get_all_permissions() == set()


def test_another_user_with_the_same_id_does_not_meet_the_kept_set(user_in_role, django_user_model):
    """A database recreated under the same cache (a restored backup, a test run) gives the id to someone else."""
    agent = user_in_role("agent", AGENTS)
    assert fresh(agent).has_perms(READ)
    pk = agent.pk
    agent.delete()
    stranger = django_user_model.objects.create_user(
        username="stranger", date_joined=agent.date_joined + datetime.timedelta(seconds=1)
    )
    django_user_model.objects.filter(pk=stranger.pk).update(id=pk)
    stranger.pk = pk
    assert not fresh(stranger).has_perms(READ)


def test_an_evicted_generation_is_started_again(user_in_role):
    agent = user_in_role("agent", AGENTS)
    assert fresh(agent).has_perms(READ)
    cache.delete(backends.PERMISSIONS_GENERATION_KEY)
    assert permission_queries(fresh(agent)) == 2
    assert cache.get(backends.PERMISSIONS_GENERATION_KEY) is not None
    assert permission_queries(fresh(agent)) == 0


def test_without_the_cache_the_database_answers(user_in_role, monkeypatch, caplog):
    agent = user_in_role("agent", AGENTS)

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", unreachable)
    assert fresh(agent).has_perms(READ)
    agent.groups.clear()
    assert not fresh(agent).has_perms(READ)
    assert "the cache cannot be reached" in caplog.text


def test_an_api_request_reads_the_permissions_once_then_from_the_cache(user_in_role, client):
    from accounts.services import api_token_create

    agent = user_in_role("agent", AGENTS)
    _, secret = api_token_create(user=agent, name="cli")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/events", **headers).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/events", **headers).status_code == 200
    assert not [q for q in queries.captured_queries if "auth_permission" in q["sql"]]
    agent.groups.clear()
    assert client.get("/api/v1/events", **headers).status_code == 403
