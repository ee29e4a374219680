"""An operator imports a lead file in the admin with a browser: the check's report, then the import."""

from pathlib import Path

import pytest
from django.conf import settings

from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import logged_in_page
from leads.models import Lead, LeadImport
from leads.tests.factories import LeadFactory, StageFactory

pytestmark = BROWSER_MARKS
PASSWORD = "import-browser-password"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
FILE = (
    "name;phone;email;stage;event_date;event_time;location\n"
    "Mehmet Öz;0532 999 88 77;mehmet@example.com;Won;30.06.2026;18:30;Kadıköy\n"
    "Ayşe Yılmaz;+90 555 123 45 67;ayse@new.example.com;;;;\n"
    "Can Demir;905321112233;;;;;\n"
    "Zeynep Kaya;12345;;;;;\n"
    "Ali Vural;0533 999 88 77;;Lost forever;;;\n"
    ";0544 111 22 33;;;;;\n"
)


@pytest.fixture
def admin_page(browser, live_server, django_user_model):
    boss = django_user_model.objects.create_user(username="boss", password=PASSWORD, is_staff=True, is_superuser=True)
    with logged_in_page(browser, live_server, boss, PASSWORD, viewport={"width": 1366, "height": 900}) as page:
        yield page


def test_an_operator_checks_a_file_then_imports_it(admin_page, live_server, tmp_path):
    page = admin_page
    won = StageFactory(name="Won")
    LeadFactory(name="Ayşe Yılmaz", phone="+905551234567", email="ayse@example.com")
    LeadFactory(name="Can Demir", phone="+905321112233")
    upload = tmp_path / "leads.csv"
    upload.write_text(FILE, encoding="utf-8")

    page.goto(f"{live_server.url}/admin/leads/lead/")
    page.click("a.import_link")
    page.set_input_files("input[type=file]", str(upload))
    page.click("input[type=submit]")
    page.wait_for_selector("#import-report")
    assert page.locator("#import-report tbody tr").count() == 6
    assert "Lost forever" in page.inner_text("#import-report")
    page.screenshot(path=SCREENSHOTS / "lead-import-check.png", full_page=True)
    assert Lead.objects.count() == 2

    page.click("input[name=_confirm]")
    page.wait_for_selector("text=Imported")
    assert LeadImport.objects.get().status == LeadImport.Status.DONE
    assert Lead.objects.filter(phone="+905329998877", stage__name="Won").exists()
    assert page.violations == []

    page.goto(f"{live_server.url}/admin/leads/lead/?stage__id__exact={won.pk}")
    page.click("a.export_link")
    page.select_option("select[name=format]", label="csv")
    page.screenshot(path=SCREENSHOTS / "lead-export.png")
    with page.expect_download() as download:
        page.click("input[type=submit]")
    content = Path(download.value.path()).read_text(encoding="utf-8")
    assert content.splitlines()[1:] == ["Mehmet Öz,+905329998877,mehmet@example.com,Won,2026-06-30,18:30,Kadıköy"]
    assert page.violations == []
