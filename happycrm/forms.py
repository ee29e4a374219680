"""Forms shared by the apps."""

from django import forms
from django.core.exceptions import ValidationError


class ServiceCheckedForm(forms.ModelForm):
    """A model form whose instance is checked by its service's rules (`service_check(instance)`, raising
    ValidationError per field) after the model's own: the page, the admin and the API refuse the same input with
    the same words."""

    @staticmethod
    def service_check(instance) -> None:
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        try:
            type(self).service_check(self.instance)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                if field not in self.errors:
                    self.add_error(field if field in self.fields else None, errors)
