import gettext
import re

from django.utils import translation

from happycrm.settings.base import BASE_DIR
from leads.models import Lead
from leads.phones import INVALID_PHONE_MESSAGE

PO = BASE_DIR / "locale" / "tr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
FIELD = re.compile(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$')


def po_entries():
    """(msgid, first msgstr) of every live entry, strings spread over several lines joined."""
    entries = []
    for block in PO.read_text(encoding="utf8").split("\n\n"):
        fields, current = {}, None
        for line in block.splitlines():
            if match := FIELD.match(line):
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            entries.append((fields["msgid"], fields.get("msgstr", fields.get("msgstr[0]", ""))))
            if "msgid_plural" in fields:
                PLURAL_MSGIDS.add(fields["msgid"])
    return entries


PLURAL_MSGIDS = set()


def test_every_turkish_string_is_translated_and_not_fuzzy():
    text = PO.read_text(encoding="utf8")
    assert "#, fuzzy" not in text
    entries = po_entries()
    assert len(entries) > 100
    untranslated = [msgid for msgid, msgstr in entries if not msgstr]
    assert untranslated == []


def test_compiled_catalog_matches_the_po_file():
    with MO.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    for msgid, msgstr in po_entries():
        msgid = msgid.replace('\\"', '"')
        if msgid in PLURAL_MSGIDS:
            assert catalog.ngettext(msgid, msgid, 1) == msgstr.replace('\\"', '"')
        else:
            assert catalog.gettext(msgid) == msgstr.replace('\\"', '"'), msgid


def test_turkish_and_english_at_run_time():
    with translation.override("tr"):
        assert str(Lead._meta.verbose_name_plural) == "lead'ler"
        assert str(INVALID_PHONE_MESSAGE).startswith("Geçerli bir telefon numarası")
    with translation.override("en"):
        assert str(Lead._meta.verbose_name_plural) == "leads"
