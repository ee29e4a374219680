from django import forms

from happycrm.forms import ServiceCheckedForm

from .models import CannedReply
from .services import canned_reply_check


class CannedReplyForm(ServiceCheckedForm):
    """A canned reply's shortcut and text, checked by the service's rules (the admin and an agent's own page)."""

    class Meta:
        model = CannedReply
        fields = ["shortcut", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}

    @staticmethod
    def service_check(instance):
        canned_reply_check(reply=instance)
