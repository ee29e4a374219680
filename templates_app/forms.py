from django import forms

from .models import CannedReply
from .services import canned_reply_check


class CannedReplyForm(forms.ModelForm):
    """A canned reply's shortcut and text, checked by the service's rules (the admin and an agent's own page)."""

    class Meta:
        model = CannedReply
        fields = ["shortcut", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}

    def _post_clean(self):
        super()._post_clean()
        try:
            canned_reply_check(reply=self.instance)
        except forms.ValidationError as exc:
            for field, errors in exc.message_dict.items():
                if field not in self.errors:
                    self.add_error(field if field in self.fields else None, errors)
