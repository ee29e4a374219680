import json
import zipfile
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from happycrm.audit import SYSTEM_USERNAME
from leads.tests.factories import LeadFactory
from messaging.models import MessageStatus
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from privacy.management.commands.export_lead import Command as ExportLead
from privacy.tests.test_export import attach

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("export_lead", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_by_phone_in_any_form_writes_the_zip_and_records_it(tmp_path):
    lead = LeadFactory(phone="+905551234567")
    InboundMessageFactory(lead=lead, body="Merhaba")
    out, err = run("--phone", "0555 123 45 67", "--output", str(tmp_path / "ayse.zip"))

    archive = zipfile.ZipFile(tmp_path / "ayse.zip")
    assert [m["body"] for m in json.loads(archive.read("messages.json"))] == ["Merhaba"]
    assert "1 messages" in out and err == ""
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]
    entry = LogEntry.objects.get(object_id=str(lead.pk))
    assert entry.user.username == SYSTEM_USERNAME
    assert "export_lead" in entry.change_message and "run by" in entry.change_message


def test_export_by_id_into_a_folder_names_the_file_after_the_lead(tmp_path):
    lead = LeadFactory()
    run("--id", str(lead.pk), "--output", str(tmp_path))
    assert zipfile.ZipFile(tmp_path / f"lead-{lead.pk}.zip").read("lead.json")


def test_missing_attachment_files_are_named_in_the_output(tmp_path):
    message = InboundMessageFactory()
    media = attach(message)
    default_storage.delete(media.file.name)
    out, err = run("--id", str(message.lead_id), "--output", str(tmp_path / "x.zip"))
    assert "1 attachment files missing" in out
    assert err.count("\n") == 1
    assert str(media.pk) in err and media.file.name in err


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--id", "00000000-0000-0000-0000-000000000000"], "No lead has the id"),
        (["--id", "not-a-uuid"], "No lead has the id"),
        (["--phone", "+905559999999"], "No lead has the phone +905559999999."),
        (["--phone", "call me"], "--phone:"),
    ],
)
def test_an_unknown_lead_is_one_line_and_no_file(tmp_path, args, error):
    LeadFactory(phone="+905551234567")
    with pytest.raises(CommandError) as raised:
        run(*args, "--output", str(tmp_path / "x.zip"))
    assert error in str(raised.value) and "\n" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []
    assert not LogEntry.objects.exists()


def test_the_last_ten_digits_never_export_someone_else(tmp_path):
    LeadFactory(phone="+15551234567")  # the same last ten digits, another person
    with pytest.raises(CommandError, match="No lead has the phone"):
        run("--phone", "+905551234567", "--output", str(tmp_path / "x.zip"))


def test_an_output_folder_that_does_not_exist_is_refused(tmp_path):
    lead = LeadFactory()
    with pytest.raises(CommandError, match="does not exist"):
        run("--id", str(lead.pk), "--output", str(tmp_path / "nowhere" / "x.zip"))


def test_a_failed_export_leaves_no_partial_file(tmp_path, monkeypatch):
    lead = LeadFactory()

    def fail(**kwargs):
        kwargs["output"].write(b"PK half")
        raise RuntimeError("disk full")

    monkeypatch.setattr("privacy.management.commands.export_lead.lead_export", fail)
    with pytest.raises(RuntimeError):
        run("--id", str(lead.pk), "--output", str(tmp_path / "x.zip"))
    assert list(tmp_path.iterdir()) == []


def test_the_command_exits_non_zero_with_one_line(tmp_path, capsys):
    """As manage.py runs it: exit status 1 and one line on stderr."""
    with pytest.raises(SystemExit) as exited:
        ExportLead().run_from_argv(["manage.py", "export_lead", "--phone", "+905559999999", "--output", str(tmp_path)])
    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == ["CommandError: No lead has the phone +905559999999."]


def test_the_zip_is_written_in_the_language_asked_for(tmp_path):
    message = MessageFactory(status=MessageStatus.UNDELIVERED, error_code=30003, provider="twilio")
    run("--id", str(message.lead_id), "--output", str(tmp_path / "tr.zip"), "--language", "tr")
    [row] = json.loads(zipfile.ZipFile(tmp_path / "tr.zip").read("messages.json"))
    assert row["error_explanation"] == "Telefona ulaşılamıyor: kapalı ya da kapsama alanı dışında."
