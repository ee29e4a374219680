"""Twilio: the backend that sends through it, and what its codes and keywords mean, in one place."""

import json
import re
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .base import BaseBackend, OutgoingMessage, RetryableSendError, SendError, SendResult, UnknownOutcomeError

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
MAX_BODY_LENGTH = 1600  # characters in a message's Body, WhatsApp and SMS alike

# Inbound attachments: Twilio sends at most ten per message, each a MediaUrlN on its own API origin (or on the
# stand-in TWILIO_API_BASE_URL points at), which may redirect to its storage.
TWILIO_API_ORIGIN = "https://api.twilio.com"
MAX_MEDIA_PER_MESSAGE = 10
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port


def media_origin() -> tuple[str, str, int]:
    """Scheme, host and port every inbound media URL must start on."""
    return _origin(settings.TWILIO_API_BASE_URL or TWILIO_API_ORIGIN)


def media_url_refusal(url: str, hop: int) -> str | None:
    """The first URL must be on Twilio's API origin; a redirect may leave it (to Twilio's storage), and the
    outbound guard then allows only a public address."""
    if hop == 0 and _origin(url) != media_origin():
        scheme, host, port = media_origin()
        return f"not a Twilio media URL: only {scheme}://{host}:{port} is fetched"
    return None


def media_credentials(url: str) -> tuple[str, str] | None:
    """Twilio's credentials (for "HTTP auth on media URLs") go to Twilio's API origin only, never to a redirect."""
    if _origin(url) == media_origin() and settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN:
        return settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
    return None


def media_count(num_media) -> int:
    """How many MediaUrlN to read: NumMedia, never more than Twilio's ten (0 when it is missing or not a number)."""
    try:
        count = int(str(num_media).strip())
    except (TypeError, ValueError):
        return 0
    return max(0, min(count, MAX_MEDIA_PER_MESSAGE))


def explain_error(code: int | None, twilio_message: str = "") -> str:
    if code is None:
        return twilio_message
    explanation = ERROR_EXPLANATIONS.get(code)
    if explanation is not None:
        return str(explanation)
    return twilio_message or gettext("Twilio error %(code)s.") % {"code": code}


# Status codes and Twilio error codes after which the message was certainly not taken.
RETRYABLE_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRYABLE_ERROR_CODES = frozenset({20429, 63018})
HTTP_TIMEOUT = 10  # seconds; Twilio answers a create in well under a second
TWILIO_MESSAGE_PREFIX = re.compile(r"^Unable to \w+ record: ")  # the client's words before Twilio's own


def _not_connected(exc: requests.ConnectionError) -> bool:
    """A connection that was never made (refused, DNS, connect timeout): nothing reached Twilio."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )


class TwilioBackend(BaseBackend):
    """The real twilio client; TWILIO_API_BASE_URL points it at another server (tests, a simulator)."""

    needs_public_media_urls = True  # Twilio fetches attachments itself
    max_body_length = MAX_BODY_LENGTH

    def __init__(self):
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT),
        )
        if settings.TWILIO_API_BASE_URL:
            self.client.api.base_url = settings.TWILIO_API_BASE_URL

    def send(self, message: OutgoingMessage) -> SendResult:
        whatsapp = message.channel == "whatsapp"
        params = {"to": f"whatsapp:{message.to}" if whatsapp else message.to}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            params["from_"] = f"whatsapp:{settings.TWILIO_PHONE_NUMBER}" if whatsapp else settings.TWILIO_PHONE_NUMBER
        if message.content_sid:
            params["content_sid"] = message.content_sid
            if message.content_variables:
                params["content_variables"] = json.dumps(message.content_variables, ensure_ascii=False)
        elif message.body:
            params["body"] = message.body
        if message.media_urls:
            params["media_url"] = list(message.media_urls)
        if settings.PUBLIC_BASE_URL:
            params["status_callback"] = settings.PUBLIC_BASE_URL + reverse("messaging:twilio-webhook")
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as exc:
            error = (
                RetryableSendError
                if exc.status in RETRYABLE_HTTP_STATUSES or exc.code in RETRYABLE_ERROR_CODES
                else SendError
            )
            raise error(TWILIO_MESSAGE_PREFIX.sub("", exc.msg or str(exc)), code=exc.code) from exc
        except requests.ConnectionError as exc:
            if _not_connected(exc):
                raise RetryableSendError(f"Could not connect to Twilio: {exc}") from exc
            raise UnknownOutcomeError(f"The connection to Twilio broke after sending: {exc}") from exc
        except requests.Timeout as exc:
            raise UnknownOutcomeError(f"Twilio did not answer within {HTTP_TIMEOUT} seconds.") from exc
        except TwilioException as exc:
            raise UnknownOutcomeError(f"Unexpected answer from Twilio: {exc}") from exc
        return SendResult(sid=created.sid, status=created.status)
