"""Reads across the apps about one person. A lead's data as one ZIP (the right of access): the lead, its messages, their
delivery history and attachments.

Every table goes in twice, as JSON and as CSV. The conversation is read a chunk at a time and each table is
spooled to a temporary file (memory up to SPOOL_BYTES, disk after that), so a long conversation or a large
attachment never sits in memory whole. Everything is read through the apps' selectors.

The delivery history is what the project records when a message's status changes (a status update event, the
one agents' screens follow): when, to which status, with which error code. It reaches as far back as those
events are kept."""

import csv
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import BinaryIO

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.selectors import lead_conversations, lead_notes_between
from happycrm.search import FoldedTextField
from leads.models import Lead
from messaging.models import Message, MessageMedia, MessageStatus
from messaging.selectors import error_explanation, lead_conversation_chunks
from notifications.selectors import status_changes_for_messages

SPOOL_BYTES = 256 * 1024  # each table's (and each attachment's) share of memory before it goes to disk
COPY_BYTES = 64 * 1024

MESSAGE_COLUMNS = [
    "id",
    "created_at",
    "direction",
    "channel",
    "status",
    "body",
    "template_name",
    "template_variables",
    "details",
    "content",
    "error_code",
    "error_explanation",
    "provider_message_id",
    "read_at",
    "attachments",
]
HISTORY_COLUMNS = ["message_id", "at", "status", "error_code", "error_explanation"]
CONVERSATION_COLUMNS = [
    "id", "opened_at", "status", "assignee", "channel", "first_response_at", "snoozed_until", "resolved_at"
]  # fmt: skip
NOTE_COLUMNS = ["id", "created_at", "author", "body"]
ATTACHMENT_COLUMNS = ["message_id", "id", "position", "content_type", "size", "status", "file", "missing"]


@dataclass(frozen=True)
class MissingAttachment:
    """An attachment the export could not include, and why."""

    message_id: str
    attachment_id: str
    position: int
    reason: str

    def __str__(self):
        return _("message %(message)s, attachment %(position)s (%(attachment)s): %(reason)s") % {
            "message": self.message_id,
            "position": self.position,
            "attachment": self.attachment_id,
            "reason": self.reason,
        }


@dataclass
class LeadExport:
    """What went into one lead's ZIP."""

    lead_id: str
    messages: int = 0
    status_changes: int = 0
    attachments: int = 0  # files included
    missing: list[MissingAttachment] = field(default_factory=list)

    def summary(self) -> str:
        return _(
            "%(messages)s messages, %(changes)s status changes, %(attachments)s attachments, "
            "%(missing)s attachment files missing"
        ) % {
            "messages": self.messages,
            "changes": self.status_changes,
            "attachments": self.attachments,
            "missing": len(self.missing),
        }


def _when(value) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


# A cell a spreadsheet would run as a formula (a lead's message may start with "="); a phone's "+" is left alone.
FORMULA_STARTS = ("=", "@", "\t", "\r", "+", "-")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder) if value else ""
    value = str(value)
    if value.startswith(FORMULA_STARTS) and not value[1:].replace(" ", "").isdigit():
        return "'" + value
    return value


class _Table:
    """Rows written as they come to a JSON array and a CSV file, both spooled, then copied into the archive."""

    def __init__(self, stack: ExitStack, name: str, columns: list[str]):
        self.name, self.columns, self.count = name, columns, 0
        # Closed by the export's ExitStack, with the archive.
        self.json = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))  # noqa: SIM115
        self.csv_file = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))  # noqa: SIM115
        # utf-8-sig: spreadsheets read the BOM and show Turkish letters right.
        self.csv_text = io.TextIOWrapper(self.csv_file, encoding="utf-8-sig", newline="", write_through=True)
        self.csv = csv.writer(self.csv_text)
        self.csv.writerow(columns)

    def add(self, row: dict) -> None:
        self.json.write(b"[\n" if not self.count else b",\n")
        self.json.write(json.dumps(row, ensure_ascii=False, cls=DjangoJSONEncoder).encode())
        self.csv.writerow([_cell(row[column]) for column in self.columns])
        self.count += 1

    def write_to(self, archive: zipfile.ZipFile) -> None:
        self.json.write(b"\n]\n" if self.count else b"[]\n")
        for suffix, spooled in (("json", self.json), ("csv", self.csv_file)):
            spooled.seek(0)
            with archive.open(f"{self.name}.{suffix}", "w") as entry:
                shutil.copyfileobj(spooled, entry, COPY_BYTES)


def _lead_fields() -> list[models.Field]:
    """Every field of the lead that holds what was told or recorded about it (not the copies kept for search)."""
    return [
        f for f in Lead._meta.concrete_fields if not isinstance(f, FoldedTextField | models.GeneratedField)
    ]  # fmt: skip


def _lead_row(lead: Lead) -> dict:
    row = {"labels": ", ".join(label.name for label in lead.labels.all())}
    for f in _lead_fields():
        value = getattr(lead, f.name)
        if isinstance(value, models.Model):
            value = str(value)
        elif hasattr(value, "isoformat") and isinstance(f, models.DateTimeField):
            value = _when(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        row[f.name] = value
    return row


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _attachment_path(message: Message, media: MessageMedia) -> str:
    return f"attachments/{message.pk}/{media.position}-{media.download_name}"


def _missing(message: Message, media: MessageMedia, reason: str) -> MissingAttachment:
    return MissingAttachment(
        message_id=str(message.pk), attachment_id=str(media.pk), position=media.position, reason=reason
    )


def _copy_attachment(archive: zipfile.ZipFile, message: Message, media: MessageMedia) -> str | MissingAttachment:
    """The attachment's file into the archive (its path there), or why it is not there. The file is read to the
    end before anything goes in, so one that breaks off leaves no truncated copy."""
    if media.status != MessageMedia.Status.STORED:
        reason = _("never stored (%(status)s)") % {"status": media.get_status_display()}
        return _missing(message, media, f"{reason}: {media.error}" if media.error else reason)
    if not media.file.name:
        return _missing(message, media, _("no file is recorded"))
    storage = media.file.storage
    try:
        if not storage.exists(media.file.name):
            return _missing(message, media, _("the file %(name)s is not in storage") % {"name": media.file.name})
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as copy:
            with media.file.open("rb") as source:  # decrypted when stored encrypted (MESSAGE_ENCRYPTION_KEYS)
                shutil.copyfileobj(source, copy, COPY_BYTES)
            copy.seek(0)
            path = _attachment_path(message, media)
            with archive.open(path, "w") as entry:
                shutil.copyfileobj(copy, entry, COPY_BYTES)
    except Exception as exc:  # a storage's own errors (S3's ClientError) are no OSError
        reason = _("the file %(name)s could not be read: %(error)s") % {"name": media.file.name, "error": exc}
        return _missing(message, media, reason)
    return path


def _history_rows(message: Message, changes) -> Iterator[dict]:
    """The message's creation, then each recorded change of its status."""
    first = MessageStatus.RECEIVED if message.is_from_lead else MessageStatus.QUEUED
    yield {"message_id": str(message.pk), "at": _when(message.created_at), "status": first, "error_code": None,
           "error_explanation": ""}  # fmt: skip
    for event in changes:
        code = event.payload.get("error_code")
        explanation = error_explanation(provider=message.provider, code=code) if code is not None else ""
        yield {"message_id": str(message.pk), "at": _when(event.created_at), "status": event.payload.get("status"),
               "error_code": code, "error_explanation": explanation}  # fmt: skip


def _message_row(message: Message, attachments: list[str]) -> dict:
    return {
        "id": str(message.pk),
        "created_at": _when(message.created_at),
        "direction": "inbound" if message.is_from_lead else "outbound",
        "channel": message.channel,
        "status": message.status,
        "body": message.body,
        "template_name": message.template_name,
        "template_variables": message.content_variables,
        "details": message.metadata,
        "content": message.content,  # what the thread shows of it (a location, a choice, an opt-out's reason, …)
        "error_code": message.error_code,
        "error_explanation": error_explanation(
            provider=message.provider, code=message.error_code, provider_message=message.error_message
        ),
        "provider_message_id": message.twilio_message_sid or "",
        "read_at": _when(message.read_at),
        "attachments": attachments,
    }


def _readme(lead: Lead, export: LeadExport) -> str:
    lines = [
        _("Data held about %(name)s (%(phone)s), exported %(when)s.")
        % {"name": lead.name, "phone": lead.phone, "when": _when(timezone.now())},
        "",
        _("lead.json, lead.csv: the lead's details."),
        _("messages.json, messages.csv: every message, oldest first."),
        _("delivery_history.json, delivery_history.csv: each message's statuses over time, with error codes."),
        _("attachments.json, attachments.csv: each attachment; the files are in attachments/."),
        _("conversations.json, conversations.csv: each episode with the team: opened, answered, resolved, by whom."),
        _("notes.json, notes.csv: the team's private notes about the lead."),
        _("manifest.json: what the export holds, and the attachment files that are missing."),
        "",
        export.summary() + ".",
    ]
    if export.missing:
        lines += ["", _("Attachment files missing:"), *(f"- {item}" for item in export.missing)]
    return "\n".join(lines) + "\n"


def lead_export(*, lead: Lead, output: BinaryIO) -> LeadExport:
    """Write the lead's ZIP to `output` (a file open for writing in binary); what went in, missing files listed."""
    export = LeadExport(lead_id=str(lead.pk))
    with ExitStack() as stack, zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        lead_table = _Table(stack, "lead", [*(f.name for f in _lead_fields()), "labels"])
        messages = _Table(stack, "messages", MESSAGE_COLUMNS)
        history = _Table(stack, "delivery_history", HISTORY_COLUMNS)
        attachments = _Table(stack, "attachments", ATTACHMENT_COLUMNS)
        lead_table.add(_lead_row(lead))
        for chunk in lead_conversation_chunks(lead_id=lead.pk):
            changes = status_changes_for_messages(message_ids=[message.pk for message, _media in chunk])
            for message, media_items in chunk:
                paths = []
                for media in media_items:
                    copied = _copy_attachment(archive, message, media)
                    missing = copied if isinstance(copied, MissingAttachment) else None
                    if missing:
                        export.missing.append(missing)
                    else:
                        paths.append(copied)
                        export.attachments += 1
                    attachments.add({
                        "message_id": str(message.pk), "id": str(media.pk), "position": media.position,
                        "content_type": media.content_type, "size": media.size, "status": media.status,
                        "file": "" if missing else copied, "missing": missing.reason if missing else "",
                    })  # fmt: skip
                messages.add(_message_row(message, paths))
                for row in _history_rows(message, changes.get(message.pk, [])):
                    history.add(row)
                export.status_changes += len(changes.get(message.pk, []))
        export.messages = messages.count
        conversations = _Table(stack, "conversations", CONVERSATION_COLUMNS)
        for conversation in lead_conversations(lead_id=lead.pk):
            conversations.add({
                "id": str(conversation.pk), "opened_at": _when(conversation.opened_at), "status": conversation.status,
                "assignee": _who(conversation.assignee), "channel": conversation.channel,
                "first_response_at": _when(conversation.first_response_at),
                "snoozed_until": _when(conversation.snoozed_until), "resolved_at": _when(conversation.resolved_at),
            })  # fmt: skip
        notes = _Table(stack, "notes", NOTE_COLUMNS)
        for note in lead_notes_between(lead_id=lead.pk):
            notes.add({"id": str(note.pk), "created_at": _when(note.created_at), "author": _who(note.author),
                       "body": note.body})  # fmt: skip
        for table in (lead_table, messages, history, attachments, conversations, notes):
            table.write_to(archive)
        manifest = {
            "lead_id": export.lead_id,
            "exported_at": _when(timezone.now()),
            "messages": export.messages,
            "status_changes": export.status_changes,
            "attachments": export.attachments,
            "missing_attachments": [asdict(item) for item in export.missing],
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        archive.writestr("README.txt", _readme(lead, export))
    return export


def export_filename(lead: Lead) -> str:
    """No personal data in the name: downloads folders and logs keep it."""
    return f"lead-{lead.pk}.zip"


def leads_export(*, leads: Iterable[Lead], output: BinaryIO) -> list[LeadExport]:
    """Several leads: one ZIP holding each lead's own ZIP (built in a temporary file, then stored as it is)."""
    exports = []
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_STORED) as archive:
        for lead in leads:
            with tempfile.TemporaryFile() as inner:
                exports.append(lead_export(lead=lead, output=inner))
                inner.seek(0)
                with archive.open(export_filename(lead), "w") as entry:
                    shutil.copyfileobj(inner, entry, COPY_BYTES)
    return exports
