import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ApiToken
from .services import api_token_refusal


class ApiTokenForm(forms.Form):
    """A user's own new token: a name and, optionally, the last day it works."""

    name = forms.CharField(
        label=_("Name"),
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text=_("What it is for, e.g. the system that will use it."),
    )
    expires_on = forms.DateField(
        label=_("Works until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: until it is revoked."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def expires_at(self) -> datetime.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
        return timezone.make_aware(end)  # the end of that day, local time

    def clean(self):
        cleaned = super().clean()
        if "name" in cleaned and (
            refusal := api_token_refusal(user=self.user, name=cleaned["name"], expires_at=self.expires_at())
        ):
            raise forms.ValidationError(refusal)
        return cleaned
