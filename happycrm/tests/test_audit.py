import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry

from happycrm.audit import SYSTEM_USERNAME, audit_record, command_user
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_each_object_gets_a_line_in_its_history(admin_user):
    leads = LeadFactory.create_batch(2)
    assert audit_record(user=admin_user, message="Kampanya gönderildi", objects=leads) == 2
    entries = LogEntry.objects.order_by("object_id")
    assert {entry.object_id for entry in entries} == {str(lead.pk) for lead in leads}
    assert all(e.user == admin_user and e.action_flag == CHANGE and e.change_message == "Kampanya gönderildi"
               for e in entries)  # fmt: skip


def test_an_action_on_none_in_particular_is_one_line_on_the_model(admin_user):
    audit_record(user=admin_user, message="Imported 3 rows", model=Lead, deleted=True)
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.action_flag, entry.content_type.model_class()) == (None, DELETION, Lead)


def test_commands_are_recorded_under_a_system_account_that_cannot_log_in():
    user = command_user()
    assert user.username == SYSTEM_USERNAME and not user.is_active and not user.has_usable_password()
    assert command_user() == user
