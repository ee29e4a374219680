"""The one place phone numbers are parsed: every form a person, a spreadsheet or Twilio writes becomes E.164."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CHANNEL_PREFIXES = ("whatsapp:", "sms:", "tel:")
FALLBACK_DIGITS = 10
MIN_DIGITS, MAX_DIGITS = 7, 15
# The longest input any phone field takes: a channel prefix and 15 digits with a separator around each fit
# (`whatsapp:+90 (555) 987-65-43` is 28). The stored E.164 is at most 16.
MAX_INPUT_LENGTH = 64

INVALID_PHONE_MESSAGE = _("Enter a valid phone number, for example +90 555 123 45 67.")


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """Return `value` in E.164 (`+905551234567`) or raise ValidationError.

    Numbers without a country code are read in `region` (default: DEFAULT_PHONE_REGION).
    A number must be valid for its country; one written internationally (`+…`, `00…`,
    as Twilio sends them) only needs a possible length, so a freshly allocated range
    that the metadata does not know yet is still accepted.
    """
    if not isinstance(value, str):
        raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone")
    text = value.strip()
    if len(text) > MAX_INPUT_LENGTH:
        raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone")
    lowered = text.lower()
    for prefix in CHANNEL_PREFIXES:
        if lowered.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    try:
        number = phonenumbers.parse(text, region or settings.DEFAULT_PHONE_REGION, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone") from None
    written_internationally = number.country_code_source in (
        phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
        phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD,
    )
    possible = phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE
    acceptable = number.national_number > 0 and (
        phonenumbers.is_valid_number(number) or (written_internationally and possible)
    )
    number.raw_input = None  # kept only to learn how it was written; format_number would echo it back for 0
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # No real subscriber number is shorter than 7 digits with its country code, and E.164 caps it at 15.
    # The result must read back as itself: spurious leading zeros in a national number do not.
    if not acceptable or not MIN_DIGITS <= len(e164) - 1 <= MAX_DIGITS or _reformat(e164) != e164:
        raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone")
    return e164


def _reformat(e164: str) -> str | None:
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        return None


def fallback_digits(e164: str) -> str:
    """The spec's fallback key: the last 10 digits, which survive a wrongly guessed country code."""
    return e164.lstrip("+")[-FALLBACK_DIGITS:]


def format_phone_for_display(e164: str) -> str:
    """`+905551234567` → `+90 555 123 45 67`, the way a person reads it."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
