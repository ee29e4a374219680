import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.models import Lead
from leads.phones import MAX_INPUT_LENGTH, fallback_digits, format_phone_for_display, normalize_phone

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@pytest.mark.parametrize(
    "raw",
    [
        "0555 123 45 67",
        "+90 555 123 4567",
        "905551234567",
        "5551234567",
        "whatsapp:+905551234567",
        "WhatsApp:+90 555 123 45 67",
        "00905551234567",
        "(0555) 123-45-67",
        " +905551234567 ",
        "tel:+905551234567",
    ],
)
def test_turkish_forms_become_e164(raw):
    assert normalize_phone(raw) == "+905551234567"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155552671", "+14155552671"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+447911123456", "+447911123456"),
        ("whatsapp:+4915112345678", "+4915112345678"),
    ],
)
def test_other_countries_in_e164_are_kept(raw, expected):
    assert normalize_phone(raw) == expected


def test_region_decides_numbers_without_country_code(settings):
    settings.DEFAULT_PHONE_REGION = "US"
    assert normalize_phone("(415) 555-2671") == "+14155552671"
    assert normalize_phone("5551234567", region="TR") == "+905551234567"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "+",
        "12",
        "0555",
        "whatsapp:",
        "+90 555",
        "1" * 40,
        "+82000",
        "+980000",
        "+9/80000",
        "+98000000",
        "+270000001",
        None,
        5551234567,
    ],
)
def test_junk_is_a_clear_validation_error(raw):
    with pytest.raises(ValidationError) as excinfo:
        normalize_phone(raw)
    assert excinfo.value.code == "invalid_phone"
    assert "valid phone number" in excinfo.value.messages[0]


def test_fallback_digits_are_the_last_ten():
    assert fallback_digits("+905551234567") == "5551234567"
    assert fallback_digits("+14155552671") == "4155552671"


def test_display_format():
    assert format_phone_for_display("+905551234567") == "+90 555 123 45 67"


@settings(max_examples=500)
@given(st.text())
def test_no_text_crashes_it(text):
    try:
        result = normalize_phone(text)
    except ValidationError:
        return
    assert E164.match(result)
    assert normalize_phone(result) == result


@settings(max_examples=1000)
@given(st.from_regex(r"\A(whatsapp:)?(\+|00)?[0-9 ()\-.]{0,25}\Z"))
def test_phone_shaped_text_normalises_or_is_refused(text):
    try:
        result = normalize_phone(text)
    except ValidationError:
        return
    assert E164.match(result)
    assert normalize_phone(f"whatsapp:{result}") == result


@given(st.integers(min_value=0, max_value=9_999_999))
def test_every_spelling_of_a_turkish_mobile_agrees(suffix):
    national = f"532{suffix:07d}"
    expected = f"+90{national}"
    spellings = [national, f"0{national}", f"90{national}", f"+90{national}", f"whatsapp:+90{national}"]
    assert {normalize_phone(s) for s in spellings} == {expected}


def test_input_longer_than_any_phone_field_takes_is_refused():
    padded = "+90 555 123 45 67" + " -" * MAX_INPUT_LENGTH
    with pytest.raises(ValidationError) as excinfo:
        normalize_phone(padded)
    assert excinfo.value.code == "invalid_phone"


@settings(max_examples=500)
@given(st.from_regex(r"\A(whatsapp: ?|tel:|sms:)?(\+|00)?([0-9][ ()\-.]{0,3}){7,15}\Z"))
def test_every_form_the_parser_accepts_fits_the_phone_form_field(text):
    try:
        expected = normalize_phone(text)
    except ValidationError:
        return
    assert len(text.strip()) <= MAX_INPUT_LENGTH
    form_field = Lead._meta.get_field("phone").formfield()
    assert form_field.max_length == MAX_INPUT_LENGTH
    assert normalize_phone(form_field.clean(text)) == expected
