"""Every sync that someone started is in the admin log, under whoever started it."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse

from happycrm.audit import SYSTEM_USERNAME
from templates_app.models import Template
from templates_app.tests.test_sync import content_api  # noqa: F401 -- the fake catalogue

pytestmark = pytest.mark.django_db


def entry() -> LogEntry:
    entry = LogEntry.objects.get()
    assert entry.content_type.model_class() is Template
    return entry


def test_the_admin_button_is_recorded_under_the_operator(content_api, staff_client):  # noqa: F811
    staff_client.post(reverse("admin:templates_app_template_sync"))
    line = entry()
    assert line.user.username == "staff"
    assert "5 created, 0 updated, 0 deactivated, 1 failed, 0 unchanged." in line.change_message


def test_the_command_is_recorded_under_the_system_account_with_who_ran_it(content_api, monkeypatch):  # noqa: F811
    monkeypatch.setattr("getpass.getuser", lambda: "deploy")
    call_command("sync_templates")
    line = entry()
    assert line.user.username == SYSTEM_USERNAME
    assert line.change_message.startswith("manage.py sync_templates, run by deploy: 5 created")


def test_the_api_is_recorded_and_a_failed_sync_is_not(content_api, staff_client, settings):  # noqa: F811
    staff_client.post(reverse("api:templates-sync"))
    assert entry().change_message.startswith("Synced through the API: 5 created")
    settings.TWILIO_CONTENT_BASE_URL = "http://127.0.0.1:9"
    assert staff_client.post(reverse("api:templates-sync")).status_code == 502
    assert LogEntry.objects.count() == 1
