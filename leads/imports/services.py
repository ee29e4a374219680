"""Importing a lead file. The upload waits in the default storage (local disk or S3); a worker checks it row by row
without writing anything (the dry run), and once an operator confirms, reads it again and writes every row in one
transaction through the lead services: an import is done in full or not at all. The file is deleted when the import
ends, however it ends.

A row matches a lead only by the exact E.164 number (never the last-10-digits fallback the message lookup uses);
a blank cell leaves the lead's value alone; the stage is named, never made."""

import csv
import datetime
import io
import logging
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from happycrm.audit import audit_record, command_user
from happycrm.queue import enqueue_on_commit

from ..models import Lead, LeadImport, Stage
from ..phones import normalize_phone
from ..services import IMPORT_BATCH_SIZE, leads_save_imported
from .resources import COLUMNS, LeadResource

logger = logging.getLogger(__name__)

EXTENSIONS = (".csv", ".xlsx")
REPORT_ROWS = 200  # the first rows are reported whatever their outcome ...
REPORT_REFUSALS = 1000  # ... and the refused ones after them, up to this many
CSV_DELIMITERS = ",;\t"  # Excel in Turkish writes ";"

CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"
OUTCOMES = (CREATED, UPDATED, UNCHANGED, REFUSED)

# The columns whose cell is text, cleaned by the model field (its length and, for the e-mail, its form).
TEXT_COLUMNS = ("name", "email", "location")


class ImportFileError(Exception):
    """The file cannot be imported as a whole (not readable, wrong columns): the message says why, for the
    operator."""


@dataclass
class ImportResult:
    total: int = 0
    counts: Counter = field(default_factory=Counter)
    report: list = field(default_factory=list)

    def add(self, *, row: int, outcome: str, detail: str = "") -> None:
        self.counts[outcome] += 1
        refusals = self.counts[REFUSED] if outcome == REFUSED else 0
        if len(self.report) < REPORT_ROWS or (outcome == REFUSED and refusals <= REPORT_REFUSALS):
            self.report.append({"row": row, "outcome": outcome, "detail": detail})

    def as_counts(self) -> dict:
        return {outcome: self.counts[outcome] for outcome in OUTCOMES}


# A check or an import still waiting for a worker this long after it was queued was lost on the way (a broker
# down at that moment): the sweep queues it again. Both are safe to run twice (the import holds its row).
REQUEUE_AFTER = datetime.timedelta(minutes=10)
TASKS = {LeadImport.Status.CHECKING: "leads.check_import", LeadImport.Status.IMPORTING: "leads.run_import"}


def progress_key(import_id) -> str:
    return f"leads:import-progress:{import_id}"


def lead_import_start(*, upload, user) -> LeadImport:
    """Keep an uploaded file in the storage and have a worker check it (nothing is written to leads yet)."""
    extension = os.path.splitext(upload.name)[1].lower()
    if extension not in EXTENSIONS:
        raise ImportFileError(_("Upload a .csv or .xlsx file."))
    if upload.size > settings.LEAD_IMPORT_MAX_MB * 1024 * 1024:
        limit = settings.LEAD_IMPORT_MAX_MB
        raise ImportFileError(_("The file is larger than %(size)s MB: split it into smaller files.") % {"size": limit})
    stored = default_storage.save(f"lead-imports/{uuid.uuid4().hex}{extension}", upload)
    try:
        with transaction.atomic():
            job = LeadImport.objects.create(file=stored, file_name=upload.name[:255], created_by=user)
            enqueue_on_commit(TASKS[LeadImport.Status.CHECKING], str(job.pk))
    except Exception:
        default_storage.delete(stored)
        raise
    return job


def lead_import_confirm(*, import_id) -> bool:
    """Import a checked file (a worker reads it again: what changed since the check counts)."""
    with transaction.atomic():
        confirmed = LeadImport.objects.filter(pk=import_id, status=LeadImport.Status.CHECKED).update(
            status=LeadImport.Status.IMPORTING, processed_rows=0, queued_at=timezone.now()
        )
        if confirmed:
            enqueue_on_commit(TASKS[LeadImport.Status.IMPORTING], str(import_id))
    return bool(confirmed)


def lead_imports_requeue(*, older_than: datetime.timedelta = REQUEUE_AFTER) -> int:
    """Checks and imports whose task never reached a worker (queued long ago, still waiting) are queued again,
    so an upload made while the broker was down is not left "checking" for ever. How many were queued."""
    now, queued = timezone.now(), 0
    for status, task in TASKS.items():
        with transaction.atomic():
            ids = list(
                LeadImport.objects.select_for_update(skip_locked=True)
                .filter(status=status, queued_at__lt=now - older_than)
                .values_list("pk", flat=True)
            )
            LeadImport.objects.filter(pk__in=ids).update(queued_at=now)
            for pk in ids:
                enqueue_on_commit(task, str(pk))
        queued += len(ids)
    return queued


def lead_import_cancel(*, import_id) -> bool:
    """Drop a checked file without importing it."""
    with transaction.atomic():
        job = LeadImport.objects.select_for_update().filter(pk=import_id, status=LeadImport.Status.CHECKED).first()
        if job is None:
            return False
        job.status, job.finished_at = LeadImport.Status.CANCELLED, timezone.now()
        job.save(update_fields=["status", "finished_at"])
        transaction.on_commit(lambda: _delete_file(job))
    return True


def lead_import_check(*, import_id) -> None:
    """The dry run: each row's outcome, nothing written. Safe to run twice."""
    job = LeadImport.objects.filter(pk=import_id, status=LeadImport.Status.CHECKING).first()
    if job is None:
        return
    try:
        result = _process(job, write=False)
    except ImportFileError as error:
        _fail(job, str(error))
        return
    except Exception:
        logger.exception("Checking lead import %s failed", import_id)
        _fail(job, _site_text(lambda: _("The file could not be checked because of an unexpected error.")))
        return
    LeadImport.objects.filter(pk=import_id, status=LeadImport.Status.CHECKING).update(
        status=LeadImport.Status.CHECKED,
        total_rows=result.total,
        processed_rows=result.total,
        counts=result.as_counts(),
        report=result.report,
    )


def lead_import_run(*, import_id) -> None:
    """The import itself, in one transaction holding the import's row: a second worker given the same import
    waits and then finds it done."""
    job = None
    try:
        with transaction.atomic():
            job = (
                LeadImport.objects.select_for_update(of=("self",))
                .filter(pk=import_id, status=LeadImport.Status.IMPORTING)
                .select_related("created_by")
                .first()
            )
            if job is None:
                return
            result = _process(job, write=True)
            job.status, job.finished_at = LeadImport.Status.DONE, timezone.now()
            job.total_rows = job.processed_rows = result.total
            job.counts, job.report, job.error = result.as_counts(), result.report, ""
            job.save()
            _audit(job, _site_text(lambda: _("Imported %(file)s: %(summary)s.") % _summary(job)))
    except Exception as error:
        if isinstance(error, ImportFileError):
            message = str(error)
        elif isinstance(error, IntegrityError):
            logger.exception("Lead import %s collided with another change", import_id)
            message = _site_text(
                lambda: _("Another change to the same phones came in during the import; nothing was imported. "
                          "Upload the file again.")
            )  # fmt: skip
        else:
            logger.exception("Lead import %s failed", import_id)
            message = _site_text(lambda: _("The import stopped because of an unexpected error; nothing was imported."))
        _fail(job or LeadImport.objects.get(pk=import_id), message, imported=True)
    else:
        if job is not None:
            _delete_file(job)
    finally:
        cache.delete(progress_key(import_id))


def lead_import_progress(*, job: LeadImport) -> int:
    """Rows done so far: an import's transaction keeps its own row's count from other readers, so while it runs
    the count is in the cache."""
    if job.status == LeadImport.Status.IMPORTING:
        return cache.get(progress_key(job.pk), 0)
    return job.processed_rows


def _site_text(text) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(text())


def _summary(job: LeadImport) -> dict:
    counts = job.counts or {}
    return {
        "file": job.file_name,
        "summary": _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged, %(refused)s refused")
        % {outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
    }


def _audit(job: LeadImport, message: str) -> None:
    audit_record(user=job.created_by or command_user(), message=message, model=Lead)


def _fail(job: LeadImport, message: str, *, imported: bool = False) -> None:
    """The import (or its check) ends with `message`; an import that failed is recorded in the audit log too."""
    with transaction.atomic():
        LeadImport.objects.filter(pk=job.pk).update(
            status=LeadImport.Status.FAILED, error=message, finished_at=timezone.now()
        )
        if imported:
            _audit(job, _site_text(lambda: _("Import of %(file)s failed, nothing was imported: %(error)s"))
                   % {"file": job.file_name, "error": message})  # fmt: skip
    _delete_file(job)


def _delete_file(job: LeadImport) -> None:
    if not job.file:
        return
    try:
        default_storage.delete(job.file)
    except Exception:
        logger.exception("Could not delete the uploaded lead file %s", job.file)
        return
    LeadImport.objects.filter(pk=job.pk).update(file="")


def _read(job: LeadImport) -> tuple[list, list[tuple[int, list]]]:
    """The header and the non-blank rows (with their row number in the file, the header being row 1)."""
    with default_storage.open(job.file, "rb") as stored:
        content = stored.read()
    rows = _xlsx_rows(content) if job.file.lower().endswith(".xlsx") else _csv_rows(content)
    try:
        header = next(rows)[1]
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    body = [(number, cells) for number, cells in rows if any(_cell(cell) is not None for cell in cells)]
    return header, body


def _csv_rows(content: bytes):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file is not UTF-8 text: save it as “CSV UTF-8” (or as an .xlsx workbook) and upload it again.")
        ) from None
    if "\x00" in text:
        raise ImportFileError(_("The file is not a CSV text file."))
    first_line = text.split("\n", 1)[0]
    delimiter = max(CSV_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as error:
        message = _("Row %(row)s cannot be read: %(error)s") % {"row": reader.line_num, "error": error}
        raise ImportFileError(message) from None


def _xlsx_rows(content: bytes):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:
        raise ImportFileError(_("The file is not an Excel workbook (.xlsx).")) from None
    try:
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


def _cell(value):
    """A cell's value, None when blank; a number a spreadsheet turned a phone into is its digits again."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _columns(header: list) -> list:
    names = [str(_cell(name) or "").lower() for name in header]
    unknown = [name for name in names if name and name not in COLUMNS]
    listed = ", ".join(COLUMNS)
    if unknown:
        raise ImportFileError(
            _("Unknown columns: %(unknown)s. A lead file's columns are: %(columns)s.")
            % {"unknown": ", ".join(unknown), "columns": listed}
        )
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise ImportFileError(_("Columns named twice: %(columns)s.") % {"columns": ", ".join(repeated)})
    if "phone" not in names:
        raise ImportFileError(
            _("The file has no “phone” column: a row is matched to a lead by its phone. The columns are: %(columns)s.")
            % {"columns": listed}
        )
    return names


@dataclass
class _Row:
    number: int
    phone: str = ""
    values: dict = field(default_factory=dict)  # attribute → value, blank cells left out
    problems: list = field(default_factory=list)


def _parse(number: int, cells: list, names: list, stages: dict, resource: LeadResource) -> _Row:
    row = _Row(number=number)
    if any(_cell(cell) is not None for cell in cells[len(names) :]):
        row.problems.append(_("The row has more cells than the file has columns."))
    for name, raw in zip(names, cells, strict=False):
        value = _cell(raw)
        if not name or value is None:
            continue
        if name == "phone":
            try:
                row.phone = normalize_phone(str(value))
            except ValidationError as error:
                row.problems.extend(error.messages)
        elif name == "stage":
            stage = stages.get(str(value))
            if stage is None:
                row.problems.append(
                    _("No stage is named “%(stage)s” (stages are made in the admin, not by an import).")
                    % {"stage": value}
                )
            else:
                row.values["stage_id"] = stage.pk
        elif name in TEXT_COLUMNS:
            try:
                row.values[name] = Lead._meta.get_field(name).clean(str(value), None)
            except ValidationError as error:
                row.problems.extend(f"{name}: {message}" for message in error.messages)
        else:  # event_date, event_time
            try:
                row.values[name] = resource.fields[name].widget.clean(value)
            except (ValueError, TypeError):
                row.problems.append(
                    _("event_date: not a date (write it as 2026-06-30 or 30.06.2026).")
                    if name == "event_date"
                    else _("event_time: not a time (write it as 18:30).")
                )
    if not row.phone and not row.problems:
        row.problems.append(_("The phone is empty."))
    return row


def _process(job: LeadImport, *, write: bool) -> ImportResult:
    header, rows = _read(job)
    names = _columns(header)
    if write:
        cache.set(progress_key(job.pk), 0, timeout=24 * 3600)
    else:
        LeadImport.objects.filter(pk=job.pk).update(total_rows=len(rows), processed_rows=0)
    stages = {stage.name: stage for stage in Stage.objects.all()}
    default_stage = next((stage for stage in stages.values() if stage.is_default), None)
    resource = LeadResource()
    result = ImportResult(total=len(rows))
    first_row_of = {}  # E.164 → the row that brought it first
    for start in range(0, len(rows), IMPORT_BATCH_SIZE):
        chunk = rows[start : start + IMPORT_BATCH_SIZE]
        batch = [_parse(number, cells, names, stages, resource) for number, cells in chunk]
        phones = {row.phone for row in batch if row.phone and not row.problems}
        existing = {lead.phone: lead for lead in Lead.objects.filter(phone__in=phones)}
        new, changed, fields = [], [], set()
        for row in batch:
            if not row.problems and row.phone in first_row_of:
                row.problems.append(_("The same phone as row %(row)s.") % {"row": first_row_of[row.phone]})
            if row.problems:
                result.add(row=row.number, outcome=REFUSED, detail=" ".join(row.problems))
                continue
            lead = existing.get(row.phone)
            if lead is None:
                if not row.values.get("name"):
                    result.add(row=row.number, outcome=REFUSED, detail=_("A new lead needs a name."))
                    continue
                if "stage_id" not in row.values and default_stage is None:
                    result.add(row=row.number, outcome=REFUSED, detail=_("No stage, and no stage is the default."))
                    continue
                values = {"stage_id": default_stage.pk if default_stage else None, **row.values}
                new.append(Lead(phone=row.phone, **values))
                first_row_of[row.phone] = row.number
                result.add(row=row.number, outcome=CREATED)
                continue
            first_row_of[row.phone] = row.number
            differing = sorted(name for name, value in row.values.items() if getattr(lead, name) != value)
            if not differing:
                result.add(row=row.number, outcome=UNCHANGED)
                continue
            for name in differing:
                setattr(lead, name, row.values[name])
            changed.append(lead)
            fields.update(differing)
            result.add(row=row.number, outcome=UPDATED, detail=", ".join(n.removesuffix("_id") for n in differing))
        done = min(start + IMPORT_BATCH_SIZE, len(rows))
        if write:
            leads_save_imported(new=new, changed=changed, fields=sorted(fields))
            cache.set(progress_key(job.pk), done, timeout=24 * 3600)
        else:
            LeadImport.objects.filter(pk=job.pk).update(processed_rows=done)
    return result
