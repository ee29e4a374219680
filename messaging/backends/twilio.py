"""What Twilio's codes and keywords mean, in one place."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Twilio error codes an agent meets, explained in words they can act on.
ERROR_EXPLANATIONS = {
    20404: _("Twilio could not find the resource (for a template: its content SID does not exist)."),
    20429: _("Twilio was too busy to take the message; it was not sent and can be retried."),
    21211: _("The phone number is not a valid number for sending."),
    21408: _("Sending to this country is not enabled on the Twilio account."),
    21610: _("The recipient replied STOP and has opted out; they must send START before you can message them."),
    21654: _("Template variables were sent without a template (content SID)."),
    21656: _("The template variables are invalid: a value is missing or empty."),
    30003: _("The phone is unreachable: switched off or out of coverage."),
    30004: _("The message was blocked by the recipient or their carrier."),
    30005: _("The number is unknown or no longer exists."),
    30006: _("The number is a landline or its carrier cannot receive messages."),
    30007: _("The carrier filtered the message as spam or against policy."),
    30008: _("The message could not be delivered for an unknown reason."),
    63016: _("More than 24 hours have passed since the lead's last message: only an approved template can be sent."),
    63018: _("The WhatsApp sender's rate limit was exceeded; the message can be retried."),
    63024: _("The recipient is not a valid WhatsApp user."),
}

# Twilio's default keywords (case-insensitive, the whole message).
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
OPTED_OUT_ERROR = 21610


def explain_error(code: int | None, twilio_message: str = "") -> str:
    if code is None:
        return twilio_message
    explanation = ERROR_EXPLANATIONS.get(code)
    if explanation is not None:
        return str(explanation)
    return twilio_message or gettext("Twilio error %(code)s.") % {"code": code}
