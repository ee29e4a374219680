"""A shared contact's name and numbers read from a stranger's vCard: what phones send, and what they must not."""

import pytest

from messaging.vcard import MAX_BYTES, MAX_CARDS, MAX_PHONES, read_contacts

WHATSAPP_CARD = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Kaya;Elif;;;\r\nFN:Elif Kaya\r\n"
    b"item1.TEL;waid=905551110001:+90 555 111 00 01\r\nitem1.X-ABLabel:Mobile\r\nEND:VCARD\r\n"
)


def test_a_card_shared_from_whatsapp():
    assert read_contacts(WHATSAPP_CARD) == [{"name": "Elif Kaya", "phones": ["+90 555 111 00 01"]}]


def test_folded_lines_escapes_several_numbers_and_cards():
    data = (
        "BEGIN:VCARD\nVERSION:4.0\nFN:Ayşe\\, Yıl\n maz\nTEL;TYPE=cell;VALUE=uri:tel:+90-555-222-0002\n"
        "TEL;TYPE=work:0212 333 44 55\nTEL:+90-555-222-0002\nEND:VCARD\n"
        "BEGIN:VCARD\nN:Demir;Mert\nEND:VCARD\n"
    ).encode()
    assert read_contacts(data) == [
        {"name": "Ayşe, Yılmaz", "phones": ["+90-555-222-0002", "0212 333 44 55"]},
        {"name": "Mert Demir", "phones": []},
    ]


def test_an_old_phones_quoted_printable_name():
    data = (
        b"BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=87a=C4=9Flar =\n=C3=96z\n"
        b"TEL;CELL:05551234567\nEND:VCARD"
    )
    assert read_contacts(data) == [{"name": "Çağlar Öz", "phones": ["05551234567"]}]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"FN:No card around me\nTEL:+905551234567",
        b"BEGIN:VCARD\nFN:Never ends\nTEL:+905551234567",  # no END: nothing half-read
        b"BEGIN:VCARD\nEND:VCARD",  # neither a name nor a number
        "BEGIN:VCARD\nFN:Big\nNOTE:{}\nEND:VCARD".format("x" * MAX_BYTES).encode(),  # too large to read at all
        "not bytes",
    ],
)
def test_what_is_not_a_readable_card_gives_nothing_and_never_raises(data):
    assert read_contacts(data) == []


def test_hostile_content_is_kept_as_text_limited_and_cleaned():
    data = (
        "BEGIN:VCARD\nFN:<script>alert(1)</script>\u202e\x07" + "A" * 500 + "\n"
        "TEL:javascript:alert(1)\nTEL:<img src=x onerror=alert(1)>\n"
        + "".join(f"TEL:+90555{n:07d}\n" for n in range(MAX_PHONES + 5))
        + "END:VCARD\n"
    ).encode()
    [card] = read_contacts(data)
    assert card["name"].startswith("<script>alert(1)</script>A")  # escaped where it is shown
    assert "\u202e" not in card["name"] and "\x07" not in card["name"] and len(card["name"]) == 200
    assert len(card["phones"]) == MAX_PHONES and all(phone.startswith("+90555") for phone in card["phones"])


def test_at_most_so_many_cards():
    data = b"".join(b"BEGIN:VCARD\nFN:Kisi %d\nEND:VCARD\n" % n for n in range(MAX_CARDS + 10))
    assert len(read_contacts(data)) == MAX_CARDS
