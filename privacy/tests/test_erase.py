import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.admin.models import DELETION, LogEntry
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from campaigns.models import CampaignRecipient
from happycrm.audit import SYSTEM_USERNAME
from leads.models import Lead
from messaging.backends import locmem
from messaging.models import ErasedMessage, Message, MessageMedia, ProviderLog, WebhookEvent
from notifications.models import Event
from privacy.models import ErasureReceipt, PendingFileDeletion
from privacy.selectors import lead_erase_counts, phone_hmac, receipt_for_phone
from privacy.services import Requester, lead_erase, pending_file_deletions_retry

from .factories import full_lead, others

pytestmark = pytest.mark.django_db

PHONE = "+905551234567"


@pytest.fixture(autouse=True)
def _provider_deletions():
    locmem.deleted.clear()
    yield
    locmem.deleted.clear()


def erase(lead, user, capture):
    with capture(execute=True):
        return lead_erase(lead=lead, requester=Requester.admin(user))


def test_everything_kept_about_the_lead_goes_and_nothing_of_anyone_else(admin_user, django_capture_on_commit_callbacks):
    lead, messages, media = full_lead(PHONE)
    near, near_media, kept_events = others(PHONE)
    sids = [m.twilio_message_sid for m in messages]
    assert lead_erase_counts(lead=lead) == {
        "leads": 1, "messages": 2, "attachments": 1, "files": 1, "webhook_events": 3, "provider_logs": 2,
        "notification_events": 1, "campaign_recipients": 1, "conversations": 1, "notes": 1, "webhook_deliveries": 0,
        "admin_history": 1,
        "provider_messages": 2,
    }  # fmt: skip

    receipt = erase(lead, admin_user, django_capture_on_commit_callbacks)

    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert not Message.objects.filter(lead_id=lead.pk).exists()
    assert not MessageMedia.objects.filter(pk=media.pk).exists()
    assert not default_storage.exists(media.file.name), "the attachment's file is gone from storage"
    assert not WebhookEvent.objects.filter(sender=PHONE).exists()
    assert not WebhookEvent.objects.filter(recipient=PHONE).exists()
    assert not WebhookEvent.objects.filter(message_sid__in=sids).exists()
    assert not ProviderLog.objects.filter(request_body__contains=PHONE).exists()
    assert not Event.objects.filter(lead_id=lead.pk).exists()
    assert not CampaignRecipient.objects.filter(lead_id=lead.pk).exists()
    assert not LogEntry.objects.filter(object_id=str(lead.pk)).exists()
    assert sorted(locmem.deleted) == sorted(sids), "its messages and media deleted at the provider"
    assert ErasedMessage.objects.filter(sid_hash__in=[ErasedMessage.hash_sid(s) for s in sids]).count() == 2

    # The others' rows stay: the same last ten digits, a number that contains the lead's.
    assert Lead.objects.filter(pk=near.pk).exists()
    assert default_storage.exists(near_media.file.name)
    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {e.pk for e in kept_events}

    receipt.refresh_from_db()
    assert receipt.counts["messages"] == 2 and receipt.counts["webhook_events"] == 3 and receipt.counts["files"] == 1
    assert [item["outcome"] for item in receipt.provider_outcome] == ["deleted", "deleted"]
    assert receipt.phone_hmac == phone_hmac(PHONE) and receipt.erased_by == admin_user
    stored = json.dumps(model_to_dict(receipt), default=str, ensure_ascii=False)
    for personal in (PHONE, PHONE[1:], PHONE[-10:], "Ayşe", "düğün", *sids):
        assert personal not in stored, f"{personal} must not be in the receipt"
    assert receipt_for_phone(e164=PHONE) == receipt


def test_the_erasure_is_in_the_admin_log_without_the_leads_name(admin_user, django_capture_on_commit_callbacks):
    lead, _, _ = full_lead(PHONE)
    receipt = erase(lead, admin_user, django_capture_on_commit_callbacks)
    entry = LogEntry.objects.get(action_flag=DELETION)
    assert entry.user == admin_user and f"#{receipt.pk}" in entry.change_message
    assert "Ayşe" not in entry.object_repr + entry.change_message


def test_a_failure_part_way_leaves_everything_as_it_was(admin_user, monkeypatch, django_capture_on_commit_callbacks):
    lead, _, media = full_lead(PHONE)

    def broken(*, lead):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("privacy.services.lead_row_erase", broken)
    with pytest.raises(RuntimeError):
        erase(lead, admin_user, django_capture_on_commit_callbacks)
    assert Message.objects.filter(lead=lead).count() == 2
    assert WebhookEvent.objects.filter(sender=PHONE).count() == 2
    assert Event.objects.filter(lead_id=lead.pk).exists() and CampaignRecipient.objects.filter(lead=lead).exists()
    assert default_storage.exists(media.file.name), "files go only after the rows commit"
    assert not ErasedMessage.objects.exists() and not ErasureReceipt.objects.exists()
    assert locmem.deleted == []


def test_a_file_that_cannot_be_removed_is_recorded_and_retried(admin_user, monkeypatch,
                                                               django_capture_on_commit_callbacks):  # fmt: skip
    lead, _, media = full_lead(PHONE)
    real_delete = type(default_storage._wrapped).delete

    def refuse(self, name):
        raise OSError("the disk is read-only")

    monkeypatch.setattr(type(default_storage._wrapped), "delete", refuse)
    receipt = erase(lead, admin_user, django_capture_on_commit_callbacks)
    pending = PendingFileDeletion.objects.get()
    assert (pending.name, pending.receipt) == (media.file.name, receipt)
    assert "read-only" in pending.last_error
    assert pending_file_deletions_retry() == 0
    pending.refresh_from_db()
    assert pending.attempts == 2

    monkeypatch.setattr(type(default_storage._wrapped), "delete", real_delete)
    assert pending_file_deletions_retry() == 1
    assert not PendingFileDeletion.objects.exists()
    assert not default_storage.exists(media.file.name)


def test_erasing_a_lead_someone_else_just_erased_says_so(admin_user, django_capture_on_commit_callbacks):
    from privacy.services import LeadAlreadyGone

    lead, _, _ = full_lead(PHONE)
    erase(lead, admin_user, django_capture_on_commit_callbacks)
    with pytest.raises(LeadAlreadyGone):
        erase(lead, admin_user, django_capture_on_commit_callbacks)


# The command.


def test_the_command_erases_by_phone_in_any_form_and_records_who_ran_it(capsys):
    lead, _, _ = full_lead(PHONE)
    call_command("erase_lead", "--phone", "0555 123 45 67")
    out = capsys.readouterr().out
    assert "Erased (receipt #" in out and "messages=2" in out
    assert not Lead.objects.filter(pk=lead.pk).exists()
    receipt = ErasureReceipt.objects.get()
    assert receipt.via == "command" and receipt.erased_by.username == SYSTEM_USERNAME
    entry = LogEntry.objects.get(action_flag=DELETION)
    assert entry.user.username == SYSTEM_USERNAME and receipt.erased_by_name in entry.change_message


def test_the_command_by_id_and_its_dry_run_changes_nothing(capsys):
    lead, _, _ = full_lead(PHONE)
    call_command("erase_lead", "--id", str(lead.pk), "--dry-run")
    assert "Would remove: leads=1, messages=2" in capsys.readouterr().out
    assert Lead.objects.filter(pk=lead.pk).exists() and Message.objects.count() == 2
    assert not ErasureReceipt.objects.exists() and locmem.deleted == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--phone", "+905559999999"], "No lead has the number +905559999999."),
        (["--phone", "not a phone"], "Enter a valid phone number"),
        (["--id", "not-a-uuid"], "No lead has the id not-a-uuid."),
    ],
)
def test_the_command_refuses_an_unknown_lead_with_one_line(args, error):
    with pytest.raises(CommandError, match=re.escape(error)):
        call_command("erase_lead", *args)


def test_a_repeated_request_is_recognised(capsys):
    full_lead(PHONE)
    call_command("erase_lead", "--phone", PHONE)
    with pytest.raises(CommandError, match=r"it was erased before on \d{4}-\d\d-\d\d \d\d:\d\d \(receipt #\d+\)"):
        call_command("erase_lead", "--phone", "+90 555 123 45 67")


@pytest.mark.slow
def test_the_command_exits_non_zero_for_an_unknown_phone(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "happycrm.settings.test",
    }

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    assert manage("migrate", "--no-input", "-v", "0").returncode == 0
    result = manage("erase_lead", "--phone", "+905559999999")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == "CommandError: No lead has the number +905559999999."
