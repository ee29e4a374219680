import datetime
import io
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from leads.imports import services as import_services
from leads.imports.resources import COLUMNS
from leads.imports.services import ImportFileError, lead_import_confirm, lead_import_start
from leads.models import Lead, LeadImport, Stage
from leads.tests.factories import LeadFactory, StageFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db


def csv_upload(text: str, name="leads.csv", encoding="utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def xlsx_upload(rows: list[list]) -> SimpleUploadedFile:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("leads.xlsx", buffer.getvalue())


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="importer", is_staff=True, is_superuser=True)


@pytest.fixture
def check(user, django_capture_on_commit_callbacks):
    """Upload a file and run its dry run (Celery is eager in tests): the import, reloaded."""

    def run(upload):
        with django_capture_on_commit_callbacks(execute=True):
            job = lead_import_start(upload=upload, user=user)
        job.refresh_from_db()
        return job

    return run


@pytest.fixture
def confirm(django_capture_on_commit_callbacks):
    def run(job):
        with django_capture_on_commit_callbacks(execute=True):
            assert lead_import_confirm(import_id=job.pk)
        job.refresh_from_db()
        return job

    return run


def outcomes(job) -> dict[int, tuple[str, str]]:
    return {row["row"]: (row["outcome"], row["detail"]) for row in job.report}


def test_dry_run_reports_each_rows_outcome_and_writes_nothing(check):
    won = StageFactory(name="Won")
    LeadFactory(name="Ayşe", phone="+905551234567", email="ayse@example.com")
    LeadFactory(name="Can", phone="+905321112233", stage=won)
    before = set(Lead.objects.values_list("pk", "name", "email", "stage_id", "updated_at"))
    job = check(
        csv_upload(
            "name,phone,email,stage\n"
            "Mehmet,0532 999 88 77,,\n"  # new
            "Ayşe,+90 555 123 4567,ayse@new.example.com,\n"  # update: the e-mail
            "Can,905321112233,,Won\n"  # unchanged
            "Zeynep,12,,\n"  # not a phone
            "Ali,05339998877,,Lost forever\n"  # unknown stage
            "Veli,0532 999 8877,,\n"  # the same phone as row 2
            ",05441112233,,\n"  # new without a name
        )
    )
    assert job.status == LeadImport.Status.CHECKED
    assert job.counts == {"created": 1, "updated": 1, "unchanged": 1, "refused": 4}
    report = outcomes(job)
    assert report[2] == ("created", "")
    assert report[3] == ("updated", "email")
    assert report[4] == ("unchanged", "")
    assert report[5][0] == "refused" and "valid phone" in report[5][1]
    assert report[6][0] == "refused" and "Lost forever" in report[6][1]
    assert report[7] == ("refused", "The same phone as row 2.")
    assert report[8] == ("refused", "A new lead needs a name.")
    assert set(Lead.objects.values_list("pk", "name", "email", "stage_id", "updated_at")) == before
    assert not Stage.objects.filter(name="Lost forever").exists()
    assert default_storage.exists(job.file)  # kept for the import


def test_confirmed_import_writes_through_the_services_and_deletes_the_file(check, confirm):
    won = StageFactory(name="Won")
    ayse = LeadFactory(name="Ayşe", phone="+905551234567", email="ayse@example.com", location="İzmir")
    job = check(
        csv_upload(
            "phone;name;stage;event_date;event_time;location\n"
            "whatsapp:+905329998877;Mehmet Öz;Won;30.06.2026;18:30;Kadıköy\n"
            "0555 123 45 67;AYŞE KAYA;;;;\n"
        )
    )
    stored = job.file
    job = confirm(job)
    assert job.status == LeadImport.Status.DONE
    assert job.counts == {"created": 1, "updated": 1, "unchanged": 0, "refused": 0}
    mehmet = Lead.objects.get(phone="+905329998877")
    assert (mehmet.name, mehmet.stage, mehmet.location) == ("Mehmet Öz", won, "Kadıköy")
    assert (mehmet.event_date, mehmet.event_time) == (datetime.date(2026, 6, 30), datetime.time(18, 30))
    assert mehmet.search_name == "mehmet oz"  # the folded copy the search uses
    ayse.refresh_from_db()
    # Blank cells left Ayşe's e-mail, stage and location alone.
    assert (ayse.name, ayse.email, ayse.location) == ("AYŞE KAYA", "ayse@example.com", "İzmir")
    assert ayse.stage.is_default
    assert ayse.search_name == "ayse kaya"
    assert Event.objects.filter(type=Event.Type.LEAD_CHANGED, lead_id=ayse.pk).exists()  # open screens follow
    assert not default_storage.exists(stored) and job.file == ""
    entry = LogEntry.objects.get()
    assert entry.user == job.created_by
    assert "1 created, 1 updated, 0 unchanged, 0 refused" in entry.change_message


def test_a_row_matches_only_the_exact_number_never_the_last_ten_digits(check, confirm):
    LeadFactory(name="Stored under another country", phone="+15551234567")
    job = confirm(check(csv_upload("name,phone\nAyşe,0555 123 45 67\n")))
    assert job.counts["created"] == 1
    assert set(Lead.objects.values_list("phone", flat=True)) == {"+15551234567", "+905551234567"}
    assert Lead.objects.get(phone="+15551234567").name == "Stored under another country"


def test_xlsx_with_numbers_and_dates_as_cells(check, confirm):
    job = confirm(
        check(
            xlsx_upload(
                [
                    ["Name", "Phone", "Event_Date", "Event_Time"],
                    ["Mehmet", 905329998877, datetime.datetime(2026, 6, 30), datetime.time(9, 15)],
                    [None, None, None, None],
                    ["Ayşe", "0555 123 45 67", "2026-07-01", "20:00"],
                ]
            )
        )
    )
    assert job.counts == {"created": 2, "updated": 0, "unchanged": 0, "refused": 0}
    mehmet = Lead.objects.get(phone="+905329998877")
    assert (mehmet.event_date, mehmet.event_time) == (datetime.date(2026, 6, 30), datetime.time(9, 15))
    assert Lead.objects.get(phone="+905551234567").event_date == datetime.date(2026, 7, 1)


def test_bad_dates_times_and_emails_are_refused_with_the_reason(check):
    job = check(csv_upload("name,phone,email,event_date,event_time\nAyşe,05551234567,not-an-email,31.02.2026,25:00\n"))
    outcome, detail = outcomes(job)[2]
    assert outcome == "refused"
    assert "email" in detail and "event_date" in detail and "event_time" in detail


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,phone\nAyşe,05551234567\n".encode("utf-16"), "not UTF-8"),
        ("name,phone\nGül Şahin,05551234567\n".encode("cp1254"), "not UTF-8"),
        (b"", "empty"),
        ("name,email\nAyşe,a@example.com\n".encode(), "no “phone” column"),
        ("name,phone,telefon\nAyşe,05551234567,1\n".encode(), "Unknown columns: telefon"),
        (b"phone,phone\n05551234567,05551234568\n", "Columns named twice: phone"),
    ],
)
def test_a_bad_file_gets_a_clear_report_and_writes_nothing(check, content, message):
    job = check(SimpleUploadedFile("leads.csv", content))
    assert job.status == LeadImport.Status.FAILED
    assert message in job.error
    assert not Lead.objects.exists()
    assert job.file == ""


def test_a_file_that_is_not_a_workbook(check):
    job = check(SimpleUploadedFile("leads.xlsx", b"name,phone\n"))
    assert job.status == LeadImport.Status.FAILED and "not an Excel workbook" in job.error


def test_other_kinds_of_files_are_refused_before_they_are_stored(user):
    with pytest.raises(ImportFileError, match=r"\.csv or \.xlsx"):
        lead_import_start(upload=SimpleUploadedFile("leads.pdf", b"%PDF"), user=user)
    assert not LeadImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_stored(user, settings):
    settings.LEAD_IMPORT_MAX_MB = 1
    with pytest.raises(ImportFileError, match="larger than 1 MB"):
        lead_import_start(upload=csv_upload("name,phone\n" + "x" * 1024 * 1024), user=user)
    assert not LeadImport.objects.exists()


def test_a_failure_part_way_leaves_nothing_half_imported(check, confirm, monkeypatch):
    LeadFactory(name="Ayşe", phone="+905551234567")
    rows = "".join(f"Lead {n},+9053200{n:05d}\n" for n in range(2500))  # three batches
    job = check(csv_upload("name,phone\nAYŞE,+905551234567\n" + rows))
    assert job.counts["created"] == 2500
    writes = []
    original = import_services.leads_save_imported

    def failing_on_the_third_batch(**kwargs):
        writes.append(1)
        if len(writes) == 3:
            raise RuntimeError("database went away")
        original(**kwargs)

    monkeypatch.setattr(import_services, "leads_save_imported", failing_on_the_third_batch)
    stored = job.file
    job = confirm(job)
    assert job.status == LeadImport.Status.FAILED
    assert "nothing was imported" in job.error
    assert list(Lead.objects.values_list("name", flat=True)) == ["Ayşe"]
    assert not default_storage.exists(stored)
    assert "failed, nothing was imported" in LogEntry.objects.get().change_message


def test_a_confirmed_import_runs_once(check, confirm, django_capture_on_commit_callbacks):
    job = confirm(check(csv_upload("name,phone\nAyşe,05551234567\n")))
    import_services.lead_import_run(import_id=job.pk)  # the task delivered twice
    assert not lead_import_confirm(import_id=job.pk)
    assert Lead.objects.count() == 1 and LogEntry.objects.count() == 1


def test_cancel_deletes_the_file(check, django_capture_on_commit_callbacks):
    job = check(csv_upload("name,phone\nAyşe,05551234567\n"))
    stored = job.file
    with django_capture_on_commit_callbacks(execute=True):
        assert import_services.lead_import_cancel(import_id=job.pk)
    job.refresh_from_db()
    assert job.status == LeadImport.Status.CANCELLED and not default_storage.exists(stored) and job.file == ""
    assert not lead_import_confirm(import_id=job.pk)


# The admin: upload, the report, confirm; export of the list's filter.


def test_admin_upload_shows_the_report_and_confirm_imports(staff_client, django_capture_on_commit_callbacks):
    LeadFactory(name="Ayşe", phone="+905551234567")
    page = staff_client.get(reverse("admin:leads_lead_changelist"))
    assert reverse("admin:leads_lead_import") in page.content.decode()
    assert reverse("admin:leads_lead_export") in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:leads_lead_import"),
            {"file": csv_upload("name,phone,stage\nMehmet,05329998877,\nAli,05339998877,Nope\n")},
        )
    job = LeadImport.objects.get()
    assert response.status_code == 302 and response.url == reverse("admin:leads_leadimport_change", args=[job.pk])
    page = staff_client.get(response.url).content.decode()
    assert "Import the file" in page and "Nope" in page and 'class="outcome-created"' in page
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(response.url, {"_confirm": "1"})
    job.refresh_from_db()
    assert job.status == LeadImport.Status.DONE
    assert Lead.objects.filter(phone="+905329998877", name="Mehmet").exists()
    assert "Import the file" not in staff_client.get(response.url).content.decode()


def test_admin_upload_of_a_wrong_kind_is_a_form_error(staff_client):
    response = staff_client.post(reverse("admin:leads_lead_import"), {"file": csv_upload("x", name="leads.txt")})
    assert response.status_code == 200
    assert ".csv or .xlsx" in response.content.decode()


def test_import_needs_the_right_to_upload_a_lead_file_which_agents_lack(client, user_in_role):
    from accounts.roles import AGENTS, OPERATORS

    client.force_login(user_in_role("agent", AGENTS, is_staff=True))
    assert client.get(reverse("admin:leads_lead_import")).status_code == 403
    client.force_login(user_in_role("operator", OPERATORS, is_staff=True))
    assert client.get(reverse("admin:leads_lead_import")).status_code == 200
    assert client.get(reverse("admin:leads_leadimport_changelist")).status_code == 200


def export(client, params: dict, file_format: int) -> bytes:
    response = client.post(reverse("admin:leads_lead_export") + "?" + "&".join(f"{k}={v}" for k, v in params.items()),
                           {"format": file_format})  # fmt: skip
    assert response.status_code == 200
    return response.content


def test_export_writes_the_filtered_list_in_the_import_columns(staff_client, check, confirm):
    won = StageFactory(name="Won")
    LeadFactory(name="Ayşe", phone="+905551234567", stage=won, event_date=datetime.date(2026, 6, 30),
                event_time=datetime.time(18, 30), location="İzmir")  # fmt: skip
    LeadFactory(name="Can", phone="+905321112233")
    content = export(staff_client, {"stage__id__exact": won.pk}, 0).decode("utf-8")
    lines = content.strip().splitlines()
    assert lines[0].split(",") == list(COLUMNS)
    assert lines[1:] == ["Ayşe,+905551234567,,Won,2026-06-30,18:30,İzmir"]
    # The export imports back as it is: every row unchanged.
    job = check(csv_upload(content))
    assert job.counts == {"created": 0, "updated": 0, "unchanged": 1, "refused": 0}


def test_export_as_xlsx(staff_client):
    LeadFactory(name="Ayşe", phone="+905551234567")
    sheet = load_workbook(io.BytesIO(export(staff_client, {}, 1))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(COLUMNS) and rows[1][:2] == ("Ayşe", "+905551234567")


@pytest.mark.slow
def test_a_hundred_thousand_rows_import_in_bounded_work(check, confirm):
    LeadFactory(name="Existing", phone="+905000000007")
    rows = 100_000
    text = "name,phone,stage,location\n" + "".join(f"Lead {n},+905{n:09d},,Yer {n % 7}\n" for n in range(rows))
    started = time.monotonic()
    with CaptureQueriesContext(connection) as checked:
        job = check(csv_upload(text))
    checked_at = time.monotonic()
    assert job.status == LeadImport.Status.CHECKED
    assert job.counts == {"created": rows - 1, "updated": 1, "unchanged": 0, "refused": 0}
    with CaptureQueriesContext(connection) as imported:
        job = confirm(job)
    finished = time.monotonic()
    assert job.status == LeadImport.Status.DONE
    assert Lead.objects.count() == rows
    # Queries grow with the batches, not with the rows: the check reads 1,000 rows in two; the import's inserts (the
    # leads, and their lead_created events) take as many rows as the database takes parameters (SQLite's 999 make
    # batches of about 50 leads, 160 events).
    assert len(checked) < rows / 400 and len(imported) < rows / 30, (len(checked), len(imported))
    assert Event.objects.filter(type=Event.Type.LEAD_CREATED).count() == rows - 1
    assert len(job.report) <= import_services.REPORT_ROWS + import_services.REPORT_REFUSALS
    print(f"100,000 rows: check {checked_at - started:.1f} s ({len(checked)} queries), "
          f"import {finished - checked_at:.1f} s ({len(imported)} queries)")  # fmt: skip


def test_the_service_refuses_a_new_lead_whose_phone_is_taken():
    from django.db import IntegrityError

    from leads.services import leads_save_imported

    LeadFactory(name="Ayşe", phone="+905551234567")
    stage = Stage.objects.get(is_default=True)
    with pytest.raises(IntegrityError):
        leads_save_imported(
            new=[
                Lead(name="Mehmet", phone="+905329998877", stage=stage),
                Lead(name="A", phone="0555 123 45 67", stage=stage),
            ],
            changed=[],
            fields=[],
        )
    assert list(Lead.objects.values_list("name", flat=True)) == ["Ayşe"]


def test_a_lead_made_meanwhile_fails_the_import_as_a_whole(check, confirm, monkeypatch):
    job = check(csv_upload("name,phone\nMehmet,05329998877\nAyşe,05551234567\n"))
    original = import_services.leads_save_imported

    def someone_else_first(**kwargs):
        LeadFactory(name="Made meanwhile", phone="+905551234567")
        original(**kwargs)

    monkeypatch.setattr(import_services, "leads_save_imported", someone_else_first)
    job = confirm(job)
    assert job.status == LeadImport.Status.FAILED and "Upload the file again" in job.error
    assert not Lead.objects.exists()


@pytest.mark.slow
def test_the_upload_waits_in_s3_and_is_deleted_afterwards(settings, check, confirm):
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        credentials = {"access_key": "test", "secret_key": "test", "region_name": "us-east-1"}
        s3 = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        s3.create_bucket(Bucket="crm-media")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": "crm-media",
                    "endpoint_url": endpoint,
                    "file_overwrite": False,
                    **credentials,
                },
            },
        }

        def keys():
            """The imports' files (moto keeps a bucket for the whole process: other tests' objects may be there)."""
            listing = s3.list_objects_v2(Bucket="crm-media", Prefix="lead-imports/")
            return [item["Key"] for item in listing.get("Contents", [])]

        job = check(csv_upload("name,phone\nAyşe,05551234567\n"))
        assert keys() == [job.file] and job.file.startswith("lead-imports/")
        job = confirm(job)
        assert job.status == LeadImport.Status.DONE and keys() == []
        failed = check(csv_upload("name,email\nAyşe,a@example.com\n"))
        assert failed.status == LeadImport.Status.FAILED and keys() == []
    finally:
        server.stop()


def test_the_imports_page_shows_the_progress_of_a_running_import(staff_client, user):
    from django.core.cache import cache

    job = LeadImport.objects.create(
        file_name="big.csv", status=LeadImport.Status.IMPORTING, total_rows=100_000, created_by=user
    )
    cache.set(import_services.progress_key(job.pk), 42_000)
    page = staff_client.get(reverse("admin:leads_leadimport_change", args=[job.pk])).content.decode()
    assert "42000 of 100000 rows" in page
    assert '<meta http-equiv="refresh" content="2">' in page  # it follows the import by itself
    listing = staff_client.get(reverse("admin:leads_leadimport_changelist")).content.decode()
    assert "42000 of 100000 rows" in listing
    cache.delete(import_services.progress_key(job.pk))


def test_a_check_or_an_import_whose_task_was_lost_is_queued_again(
    user, monkeypatch, django_capture_on_commit_callbacks
):
    from happycrm import queue

    lost = []
    monkeypatch.setattr(queue, "send", lambda task, *args, **kwargs: lost.append(task))  # the broker is down
    with django_capture_on_commit_callbacks(execute=True):
        job = lead_import_start(upload=csv_upload("name,phone\nMehmet,0532 999 88 77\n"), user=user)
    assert lost == ["leads.check_import"] and LeadImport.objects.get(pk=job.pk).status == LeadImport.Status.CHECKING
    monkeypatch.undo()

    assert import_services.lead_imports_requeue() == 0  # queued just now: a worker may still take it
    LeadImport.objects.filter(pk=job.pk).update(queued_at=job.queued_at - datetime.timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert import_services.lead_imports_requeue() == 1
    job.refresh_from_db()
    assert job.status == LeadImport.Status.CHECKED and job.counts["created"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        monkeypatch.setattr(queue, "send", lambda task, *args, **kwargs: lost.append(task))
        assert lead_import_confirm(import_id=job.pk)
    monkeypatch.undo()
    LeadImport.objects.filter(pk=job.pk).update(queued_at=job.queued_at - datetime.timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert import_services.lead_imports_requeue() == 1
    job.refresh_from_db()
    assert job.status == LeadImport.Status.DONE and Lead.objects.filter(phone="+905329998877").exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert import_services.lead_imports_requeue() == 0  # done: nothing to queue
