"""The inbox's forms: its filters and the lead's details in the conversation's panel."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from leads.models import Label, Lead, Stage
from messaging.models import Channel


class ChoiceOfRowField(forms.ModelChoiceField):
    """A row by its key; whatever the key is (not a UUID, a NUL), the error is the same one, not the value echoed."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None


class InboxFilterForm(forms.Form):
    """The inbox's filters, validated like any form (a NUL or an unknown stage is an error shown, not a crash)."""

    view = forms.ChoiceField(
        label=_("View"),
        choices=[("mine", _("Mine")), ("unassigned", _("Unassigned")), ("all", _("All")), ("mentions", _("Mentions"))],
        required=False,
        error_messages={"invalid_choice": _("Select a valid choice. That choice is not one of the available choices.")},
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            ("open", pgettext_lazy("conversations", "Open")),
            ("snoozed", pgettext_lazy("conversations", "Snoozed")),
            ("resolved", pgettext_lazy("conversations", "Resolved")),
            ("all", pgettext_lazy("conversations", "All")),
        ],
        required=False,
        error_messages={"invalid_choice": _("Select a valid choice. That choice is not one of the available choices.")},
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    unread = forms.BooleanField(required=False)
    starred = forms.BooleanField(required=False)
    stage = ChoiceOfRowField(label=_("Stage"), queryset=Stage.objects.all(), required=False)
    label = ChoiceOfRowField(label=_("Label"), queryset=Label.objects.all(), required=False)
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=Channel.choices,
        required=False,
        # Django's own words (and translation) for a choice not offered, without echoing the value.
        error_messages={"invalid_choice": _("Select a valid choice. That choice is not one of the available choices.")},
    )

    def filters(self) -> dict:
        """The valid filters (an invalid one is left out, so the inbox still shows)."""
        data = self.cleaned_data if self.is_bound else {}
        return {
            "view": data.get("view") or "all",
            "status": data.get("status") or "open",
            "unread": data.get("unread", False),
            "starred": data.get("starred", False),
            "stage": data.get("stage"),
            "channel": data.get("channel", ""),
            "label": data.get("label"),
            "query": data.get("q", ""),
        }

    def error_messages(self) -> list[str]:
        return [f"{self.fields[name].label or name}: {' '.join(errors)}" for name, errors in self.errors.items()]


class LeadDetailsForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = ["name", "phone", "email", "stage", "event_date", "event_time", "location"]
        widgets = {
            "event_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "event_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def clean_phone(self):
        """A number another lead has is an error that names that lead (not the unique constraint's generic one)."""
        phone = Lead._meta.get_field("phone").to_python(self.cleaned_data.get("phone"))  # E.164, as stored
        if phone and (other := Lead.objects.filter(phone=phone).exclude(pk=self.instance.pk).first()):
            raise ValidationError(
                _("This phone number belongs to another lead: %(name)s.") % {"name": other.name}, code="unique"
            )
        return phone


class StartConversationForm(forms.Form):
    """Who to write to: a number in any form (a lead that has it is found, else a new lead is made with the name),
    and the channel to write on."""

    phone = forms.CharField(label=_("Phone"), max_length=Lead._meta.get_field("phone").formfield().max_length)
    name = forms.CharField(label=_("Name"), max_length=Lead._meta.get_field("name").max_length, required=False)
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=Channel.choices,
        error_messages={"invalid_choice": _("Select a valid choice. That choice is not one of the available choices.")},
    )

    def clean_phone(self):
        return Lead._meta.get_field("phone").to_python(self.cleaned_data["phone"])  # E.164, or the parser's error

    def clean(self):
        data = super().clean()
        phone = data.get("phone")
        self.existing = Lead.objects.filter(phone=phone).first() if phone else None
        if phone and self.existing is None and not data.get("name", "").strip():
            self.add_error("name", _("No lead has this number yet: give the new lead's name."))
        return data
