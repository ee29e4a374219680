"""Validation shared by every app."""

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

NUL = "\x00"


def contains_nul(value) -> bool:
    """Whether a text, or any key or text inside a JSON value, holds a NUL (which PostgreSQL cannot store)."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


def prohibit_null_characters_in_json(value) -> None:
    """A JSON field's form takes `\\u0000` inside a string: the same error a text field gives, not a 500."""
    if contains_nul(value):
        validator = ProhibitNullCharactersValidator()
        raise ValidationError(validator.message, code=validator.code)
