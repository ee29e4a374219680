import csv
import io
import json
import tracemalloc
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import translation

from leads.tests.factories import LeadFactory
from messaging.backends.base import StatusUpdate
from messaging.models import MessageMedia, MessageStatus
from messaging.selectors import EXPORT_CHUNK
from messaging.services.status import message_statuses_apply
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from privacy.selectors.export import lead_export, leads_export

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def attach(message, content=PNG, position=0, **fields):
    return MessageMedia.objects.create(
        message=message,
        position=position,
        content_type="image/png",
        status=MessageMedia.Status.STORED,
        size=len(content),
        file=ContentFile(content, name="photo.png"),
        **fields,
    )


def export_of(lead) -> tuple[zipfile.ZipFile, object]:
    output = io.BytesIO()
    with translation.override("en"):
        result = lead_export(lead=lead, output=output)
    return zipfile.ZipFile(output), result


def csv_rows(archive, name) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


@pytest.fixture
def conversation():
    lead = LeadFactory(name="Ayşe Yılmaz", phone="+905551234567", email="ayse@example.com")
    inbound = InboundMessageFactory(
        lead=lead, body="Merhaba, fiyat alabilir miyim?", content={"location": {"label": "Ev", "address": "Kadıköy"}}
    )
    photo = attach(inbound)
    outbound = MessageFactory(lead=lead, body="Tabii, gönderiyorum", status=MessageStatus.QUEUED, provider="twilio")
    failed = MessageFactory(lead=lead, body='=HYPERLINK("x")', status=MessageStatus.SENT, provider="twilio")
    for update in [  # callbacks as they come, one after another
        StatusUpdate(sid=outbound.twilio_message_sid, status=MessageStatus.SENT),
        StatusUpdate(sid=outbound.twilio_message_sid, status=MessageStatus.DELIVERED),
        StatusUpdate(sid=failed.twilio_message_sid, status=MessageStatus.UNDELIVERED, error_code=30003),
    ]:
        message_statuses_apply(updates=[update])
    other = LeadFactory(phone="+905551234568")
    MessageFactory(lead=other, body="someone else's")
    return {"lead": lead, "inbound": inbound, "photo": photo, "outbound": outbound, "failed": failed}


def test_the_zip_holds_the_lead_its_messages_history_and_attachments(conversation):
    lead, inbound, photo = conversation["lead"], conversation["inbound"], conversation["photo"]
    archive, result = export_of(lead)

    names = set(archive.namelist())
    for table in ("lead", "messages", "delivery_history", "attachments"):
        assert {f"{table}.json", f"{table}.csv"} <= names
    assert {"manifest.json", "README.txt"} <= names

    [lead_json] = json.loads(archive.read("lead.json"))
    assert lead_json["name"] == "Ayşe Yılmaz"
    assert lead_json["phone"] == "+905551234567"
    assert lead_json["stage"] == lead.stage.name
    assert "search_name" not in lead_json
    assert csv_rows(archive, "lead.csv")[0]["phone"] == "+905551234567"  # a phone is not taken for a formula

    messages = json.loads(archive.read("messages.json"))
    assert [m["body"] for m in messages] == [
        "Merhaba, fiyat alabilir miyim?",
        "Tabii, gönderiyorum",
        '=HYPERLINK("x")',
    ]
    assert "someone else's" not in archive.read("messages.csv").decode("utf-8-sig")
    path = f"attachments/{inbound.pk}/0-{photo.download_name}"
    assert messages[0]["attachments"] == [path]
    assert messages[0]["content"] == {"location": {"label": "Ev", "address": "Kadıköy"}}  # what the thread showed
    assert archive.read(path) == PNG
    assert messages[2]["error_code"] == 30003
    assert "unreachable" in messages[2]["error_explanation"]
    # A message that would run as a spreadsheet formula is kept as text in the CSV.
    assert csv_rows(archive, "messages.csv")[2]["body"] == '\'=HYPERLINK("x")'

    assert result.messages == 3 and result.attachments == 1 and result.missing == []
    assert result.status_changes == 3


def test_delivery_history_has_each_status_with_its_time_and_explained_error(conversation):
    outbound, failed = conversation["outbound"], conversation["failed"]
    archive, _result = export_of(conversation["lead"])
    history = json.loads(archive.read("delivery_history.json"))

    of_outbound = [row for row in history if row["message_id"] == str(outbound.pk)]
    assert [row["status"] for row in of_outbound] == ["queued", "sent", "delivered"]
    assert all(row["at"] for row in of_outbound)
    [*_, failure] = [row for row in history if row["message_id"] == str(failed.pk)]
    assert failure["status"] == "undelivered"
    assert failure["error_code"] == 30003
    assert "unreachable" in failure["error_explanation"]

    rows = csv_rows(archive, "delivery_history.csv")
    assert [row["status"] for row in rows if row["message_id"] == str(failed.pk)] == ["queued", "undelivered"]


def test_missing_attachment_files_are_listed_and_the_rest_exported(conversation):
    inbound, photo = conversation["inbound"], conversation["photo"]
    gone = attach(inbound, position=1)
    default_storage.delete(gone.file.name)
    never = MessageMedia.objects.create(
        message=inbound, position=2, status=MessageMedia.Status.FAILED, error="HTTP 404 from the provider"
    )
    archive, result = export_of(conversation["lead"])

    assert [(m.attachment_id, m.position) for m in result.missing] == [(str(gone.pk), 1), (str(never.pk), 2)]
    assert gone.file.name in result.missing[0].reason
    assert "HTTP 404" in result.missing[1].reason
    manifest = json.loads(archive.read("manifest.json"))
    assert [m["attachment_id"] for m in manifest["missing_attachments"]] == [str(gone.pk), str(never.pk)]
    assert str(gone.pk) in archive.read("README.txt").decode()
    assert archive.read(f"attachments/{inbound.pk}/0-{photo.download_name}") == PNG
    rows = {row["id"]: row for row in csv_rows(archive, "attachments.csv")}
    assert rows[str(gone.pk)]["file"] == "" and rows[str(gone.pk)]["missing"]
    assert rows[str(photo.pk)]["missing"] == ""


def test_an_attachment_that_breaks_off_while_read_leaves_no_truncated_copy(conversation, monkeypatch):
    photo = conversation["photo"]

    class Broken(io.BytesIO):
        def read(self, *args):
            raise OSError("connection reset")

    monkeypatch.setattr(FileSystemStorage, "open", lambda self, name, mode="rb": Broken())
    archive, result = export_of(conversation["lead"])
    assert [m.attachment_id for m in result.missing] == [str(photo.pk)]
    assert "connection reset" in result.missing[0].reason
    assert not [name for name in archive.namelist() if name.startswith("attachments/")]


def test_a_lead_without_messages_exports_empty_tables():
    archive, result = export_of(LeadFactory())
    assert json.loads(archive.read("messages.json")) == []
    assert csv_rows(archive, "messages.csv") == []
    assert result.messages == 0


def test_several_leads_give_one_zip_per_lead(conversation):
    other = LeadFactory()
    output = io.BytesIO()
    exports = leads_export(leads=[conversation["lead"], other], output=output)
    outer = zipfile.ZipFile(output)
    assert outer.namelist() == [f"lead-{conversation['lead'].pk}.zip", f"lead-{other.pk}.zip"]
    inner = zipfile.ZipFile(io.BytesIO(outer.read(f"lead-{conversation['lead'].pk}.zip")))
    assert len(json.loads(inner.read("messages.json"))) == 3
    assert [e.messages for e in exports] == [3, 0]


def peak_memory_of_export(lead, path) -> int:
    with open(path, "wb") as output:
        tracemalloc.start()
        try:
            lead_export(lead=lead, output=output)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_memory_stays_bounded_whatever_the_size_of_the_conversation(tmp_path):
    """A 12 MiB attachment and 3,000 messages take no more memory than a small conversation's chunk."""
    small = LeadFactory()
    MessageFactory.create_batch(EXPORT_CHUNK, lead=small, body="ş" * 400)
    large = LeadFactory()
    big = attach(InboundMessageFactory(lead=large), content=PNG + b"\x01" * (12 * 1024 * 1024))
    MessageFactory.create_batch(6 * EXPORT_CHUNK, lead=large, body="ş" * 400)

    baseline = peak_memory_of_export(small, tmp_path / "small.zip")
    peak = peak_memory_of_export(large, tmp_path / "large.zip")
    copy = zipfile.ZipFile(tmp_path / "large.zip").getinfo(f"attachments/{big.message_id}/0-{big.download_name}")
    assert copy.file_size == big.size
    assert peak < baseline * 1.5 + 1024 * 1024, f"{peak / 2**20:.1f} MiB, against {baseline / 2**20:.1f} MiB"


def test_the_zip_holds_the_conversations_notes_and_labels_too(conversation, django_user_model):
    from conversations.models import Conversation, Note
    from leads.tests.factories import LabelFactory

    lead = conversation["lead"]
    agent = django_user_model.objects.create_user(username="ayse", first_name="Ayşe")
    episode = Conversation.objects.create(lead=lead, assignee=agent, channel="sms", opened_at=lead.created_at)
    Note.objects.create(lead=lead, author=agent, body="=cmd|' /C calc'!A0 aradı")
    lead.labels.add(LabelFactory(name="VIP"), LabelFactory(name="Düğün"))
    archive, _ = export_of(lead)
    [row] = json.loads(archive.read("conversations.json"))
    assert (row["id"], row["status"], row["assignee"], row["channel"]) == (str(episode.pk), "open", "Ayşe", "sms")
    [note] = csv_rows(archive, "notes.csv")
    assert note["author"] == "Ayşe" and note["body"].startswith("'=cmd")  # a formula neutralised, as elsewhere
    assert json.loads(archive.read("lead.json"))[0]["labels"] == "Düğün, VIP"
    assert "notes.json, notes.csv" in archive.read("README.txt").decode()
