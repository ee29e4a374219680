"""The API's serializers take JSON as typed: DRF would read `0` as false, `7` as the text "7" and "12" as a number,
so a client's mistake (a number where a name goes, a string for a flag) would be saved as something it did not
mean. Here a value of the wrong JSON type is refused, per field, in the error format; `null` is left to the field
(allow_null). A form or a query string (all text) is read as DRF reads it."""

from django.utils.translation import gettext_lazy as _
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers

# The JSON types each kind of field takes, most specific first (BooleanField before the numbers: a bool is an int).
JSON_TYPES = [
    (drf_fields.BooleanField, (bool,), _("Must be true or false.")),
    (drf_fields.IntegerField, (int,), _("Must be a whole number.")),
    ((drf_fields.FloatField, drf_fields.DecimalField), (int, float), _("Must be a number.")),
    (
        (drf_fields.ListField, drf_fields.MultipleChoiceField, relations.ManyRelatedField, serializers.ListSerializer),
        (list,),
        _("Must be a list."),
    ),
    ((drf_fields.DictField, serializers.Serializer), (dict,), _("Must be an object.")),
    (drf_fields.JSONField, (object,), ""),
    (drf_fields.FileField, (object,), ""),
    (
        (drf_fields.CharField, drf_fields.ChoiceField, drf_fields.UUIDField, relations.RelatedField),
        (str,),
        _("Must be a string."),
    ),
    (
        (drf_fields.DateField, drf_fields.DateTimeField, drf_fields.TimeField, drf_fields.DurationField),
        (str,),
        _("Must be a string."),
    ),
]


def type_refusal(field, value) -> str | None:
    if value is None:
        return None
    for kinds, types, message in JSON_TYPES:
        if isinstance(field, kinds):
            wrong = not isinstance(value, types) or (bool not in types and isinstance(value, bool))
            return str(message) if wrong else None
    return None


class StrictTypes:
    def to_internal_value(self, data):
        if type(data) is dict:  # parsed JSON (a form or a query string is a QueryDict)
            errors = {
                name: [message]
                for name, field in self.fields.items()
                if not field.read_only and name in data and (message := type_refusal(field, data[name]))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class Serializer(StrictTypes, serializers.Serializer):
    pass


class ModelSerializer(StrictTypes, serializers.ModelSerializer):
    pass


class CountsField(serializers.DictField):
    """A count per name (an outcome, a status)."""

    child = serializers.IntegerField()
