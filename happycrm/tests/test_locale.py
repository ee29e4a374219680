import gettext
import re

from django.utils import translation

from happycrm.settings.base import BASE_DIR
from leads.models import Lead
from leads.phones import INVALID_PHONE_MESSAGE

PO = BASE_DIR / "locale" / "tr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
ENTRY = re.compile(r'^msgid "(.+)"\n(?:msgid_plural "(.+)"\n)?msgstr(?:\[0\])? "(.*)"', re.MULTILINE)


def po_entries():
    return [(m.group(1), m.group(3)) for m in ENTRY.finditer(PO.read_text(encoding="utf8"))]


def test_every_turkish_string_is_translated_and_not_fuzzy():
    text = PO.read_text(encoding="utf8")
    assert "#, fuzzy" not in text
    untranslated = [msgid for msgid, msgstr in po_entries() if not msgstr]
    assert untranslated == []


def test_compiled_catalog_matches_the_po_file():
    with MO.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    for msgid, msgstr in po_entries():
        msgid = msgid.replace('\\"', '"')
        if "%d" in msgid:
            assert catalog.ngettext(msgid, msgid, 1) == msgstr.replace('\\"', '"')
        else:
            assert catalog.gettext(msgid) == msgstr.replace('\\"', '"'), msgid


def test_turkish_and_english_at_run_time():
    with translation.override("tr"):
        assert str(Lead._meta.verbose_name_plural) == "lead'ler"
        assert str(INVALID_PHONE_MESSAGE).startswith("Geçerli bir telefon numarası")
    with translation.override("en"):
        assert str(Lead._meta.verbose_name_plural) == "leads"
