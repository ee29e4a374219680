from django.db import models

from .phones import MAX_INPUT_LENGTH, normalize_phone


class PhoneNumberField(models.CharField):
    """A nullable CharField that only ever stores E.164.

    Forms and `full_clean()` normalise through `to_python` (junk is a validation error);
    `save()` and `bulk_create()` normalise through `pre_save`, so no code path writes
    `0555 123 45 67` to the table. An empty value is stored as NULL, so uniqueness only
    applies to leads that have a phone.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        # The column holds E.164 (16), but a form takes every form the parser accepts: `+90 (555) 987-65-43`.
        return super().formfield(**{"max_length": MAX_INPUT_LENGTH, **kwargs})

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or not value.strip():
            return None
        return normalize_phone(value)

    def pre_save(self, model_instance, add):
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value
