"""What Twilio's words mean in ours: its statuses, its error codes (explained for agents), its opt-out keywords,
its limits and its senders' rates."""

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from messaging.models import Channel, MessageStatus

# Twilio's message statuses (RapidPro's STATUS_MAPPING); "received"/"receiving" mark an inbound message.
STATUS_MAPPING = {
    "accepted": MessageStatus.ACCEPTED,
    "scheduled": MessageStatus.SCHEDULED,
    "queued": MessageStatus.QUEUED,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "partially_delivered": MessageStatus.PARTIALLY_DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.CANCELED,
    "receiving": MessageStatus.RECEIVING,
    "received": MessageStatus.RECEIVED,
}
INBOUND_STATUSES = frozenset({"received", "receiving"})

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
OPTED_OUT_ERROR = 21610  # the recipient replied STOP
RETRYABLE_ERROR_CODES = frozenset({20429, 63018})  # too busy, rate limit: the message was certainly not taken
ERROR_CODE_MAX = 2**31 - 1  # the column's range; Twilio's codes have five digits

# Twilio's default keywords (case-insensitive, the whole message).
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})

MAX_BODY_LENGTH = 1600  # characters in a message's Body, WhatsApp and SMS alike
MAX_MEDIA_PER_MESSAGE = 10  # MediaUrlN of one inbound message


def explain_error(code: int | None, twilio_message: str = "") -> str:
    if code is None:
        return twilio_message
    explanation = ERROR_EXPLANATIONS.get(code)
    if explanation is not None:
        return str(explanation)
    return twilio_message or gettext("Twilio error %(code)s.") % {"code": code}


def opt_change(body: str) -> bool | None:
    keyword = body.strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        return True
    if keyword in OPT_IN_KEYWORDS:
        return False
    return None


def error_code(value) -> int | None:
    """An ErrorCode field, or None when it is missing or not a code (the status still applies)."""
    try:
        code = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return code if 0 < code <= ERROR_CODE_MAX else None


class TwilioLimits:
    """Twilio's limits and senders' rates; the stand-ins for Twilio (simulator, locmem) keep them too."""

    max_body_length = MAX_BODY_LENGTH
    opt_in_keywords = tuple(sorted(OPT_IN_KEYWORDS))

    def send_rate(self, channel: str) -> float:
        return settings.TWILIO_WHATSAPP_MPS if channel == Channel.WHATSAPP else settings.TWILIO_SMS_MPS

    def sender_id(self, channel: str) -> str:
        return settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_PHONE_NUMBER or "default"

    def explain_error(self, code: int | None, provider_message: str = "") -> str:
        return explain_error(code, provider_message)
