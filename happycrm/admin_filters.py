"""The admin's list filters refuse a NUL character in their values, as Django's forms do.

Django's admin search goes through a form (which refuses NUL), but a list filter's value goes
straight into the query, and PostgreSQL refuses NUL in text: `?status=%00` was a 500 on every
changelist with a choices or text filter. Registered once (messaging's AppConfig.ready), for every
app's admin, in place of the two filters that pass text through: the same filters otherwise."""

from django.contrib import messages
from django.contrib.admin.filters import AllValuesFieldListFilter, ChoicesFieldListFilter, FieldListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models
from django.utils.translation import gettext as _

NUL = "\x00"


class NulRefusingFilterMixin:
    def queryset(self, request, queryset):
        for values in self.used_parameters.values():
            if any(NUL in str(value) for value in (values if isinstance(values, list) else [values])):
                messages.error(request, _("A filter value contained a NUL character, so the filters were cleared."))
                # The admin's answer to a value it cannot use: the list again, unfiltered.
                raise IncorrectLookupParameters("NUL character in a filter value")
        return super().queryset(request, queryset)


class NulRefusingChoicesFieldListFilter(NulRefusingFilterMixin, ChoicesFieldListFilter):
    pass


class NulRefusingAllValuesFieldListFilter(NulRefusingFilterMixin, AllValuesFieldListFilter):
    pass


def _choices_filter(field) -> bool:
    # Django picks a related or boolean filter before the choices one; those check their values already.
    return bool(field.choices) and not field.remote_field and not isinstance(field, models.BooleanField)


def _text_filter(field) -> bool:
    return isinstance(field, models.CharField | models.TextField) and not field.choices and not field.remote_field


_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    FieldListFilter.register(_choices_filter, NulRefusingChoicesFieldListFilter, take_priority=True)
    FieldListFilter.register(_text_filter, NulRefusingAllValuesFieldListFilter, take_priority=True)
    _registered = True
