import gettext
import re

from django.utils import translation

from happycrm.settings.base import BASE_DIR
from leads.models import Lead, Stage
from leads.phones import INVALID_PHONE_MESSAGE

PO = BASE_DIR / "locale" / "tr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
FIELD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$')


def po_entries():
    """(msgid, first msgstr) of every live entry, strings spread over several lines joined; a msgid with a context
    as gettext stores it ("context\x04msgid")."""
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
            msgid = f"{fields['msgctxt']}\x04{fields['msgid']}" if "msgctxt" in fields else fields["msgid"]
            entries.append((msgid, fields.get("msgstr", fields.get("msgstr[0]", ""))))
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
        # A field named like a model has a msgid of its own: the model's name stays lowercase for mid-sentence use.
        assert str(Lead._meta.get_field("stage").verbose_name) == "Aşama"
        assert str(Stage._meta.verbose_name) == "aşama"
        assert str(INVALID_PHONE_MESSAGE).startswith("Geçerli bir telefon numarası")
    with translation.override("en"):
        assert str(Lead._meta.verbose_name_plural) == "leads"
