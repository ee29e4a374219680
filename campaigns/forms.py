from django import forms
from django.utils.translation import gettext_lazy as _

from messaging.models import Channel
from templates_app.selectors import templates_sendable


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Campaign name"), max_length=200)
    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=templates_sendable(channel=Channel.WHATSAPP),
        help_text=_("Approved, active templates. {{1}} is the lead's name, {{2}} the event date, {{3}} the time."),
    )
    parameters = forms.CharField(
        label=_("Extra values"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, for {{4}}, {{5}}, …"),
    )
    start_at = forms.DateTimeField(
        label=_("Start at"), required=False, help_text=_("Empty to start now."), widget=forms.DateTimeInput()
    )

    def clean_parameters(self):
        return [line.strip() for line in self.cleaned_data["parameters"].splitlines() if line.strip()]
