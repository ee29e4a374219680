from django import forms
from django.utils.translation import gettext_lazy as _

from leads.models import Lead


class LeadMergeForm(forms.Form):
    """Which lead to merge with this one (a likely duplicate, or the one selected beside it), and which to keep."""

    other = forms.ModelChoiceField(
        queryset=Lead.objects.none(), widget=forms.RadioSelect, empty_label=None, label=_("Merge with")
    )
    keep = forms.ChoiceField(widget=forms.RadioSelect, label=_("Keep"))

    def __init__(self, *args, lead: Lead, candidates: list[Lead], **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead
        self.fields["other"].queryset = Lead.objects.filter(pk__in=[c.pk for c in candidates]).exclude(pk=lead.pk)
        self.fields["other"].label_from_instance = lambda other: f"{other} ({other.phone_display or '-'})"
        self.fields["keep"].choices = [
            ("this", _("%(name)s, this lead") % {"name": lead}),
            ("other", _("the other lead")),
        ]
        self.fields["keep"].initial = "this"
        if len(candidates) == 1:
            self.fields["other"].initial = candidates[0].pk

    def leads(self) -> tuple[Lead, Lead]:
        """(the lead to keep, the lead merged into it)."""
        other = self.cleaned_data["other"]
        return (self.lead, other) if self.cleaned_data["keep"] == "this" else (other, self.lead)
