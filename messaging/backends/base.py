"""The provider interface: what every messaging backend does, the neutral objects it speaks in, and how it fails.

A provider is one package or module (Django's mail backends; RapidPro's channel types): it sends, it reads the
webhooks it receives into `InboundMessage` and `StatusUpdate`, it explains its error codes, it names its sender's
rate and it says how its attachments are fetched. Nothing outside it names a provider's field, setting or code.
`MESSAGING_BACKEND` is the backend of every channel; `MESSAGING_CHANNEL_BACKENDS` may give a channel another one.
"""

from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext


@dataclass(frozen=True)
class OutgoingMessage:
    to: str  # E.164
    channel: str  # "whatsapp" or "sms"
    body: str = ""
    media_urls: tuple[str, ...] = ()
    content_sid: str = ""  # the approved WhatsApp template, when the message is one
    content_variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


@dataclass(frozen=True)
class Attachment:
    url: str
    content_type: str = ""  # the sender's word for it: a hint, the stored type is sniffed from the bytes


@dataclass(frozen=True)
class Location:
    latitude: str
    longitude: str
    address: str = ""
    label: str = ""


@dataclass(frozen=True)
class Button:
    """The option a lead chose: a quick-reply button, or an item of a list."""

    BUTTON = "button"
    LIST = "list"

    text: str
    payload: str = ""  # the option's id, as the sender of the buttons or list named it
    kind: str = BUTTON


@dataclass(frozen=True)
class AdReferral:
    """The ad or post a lead tapped to start the conversation (click-to-WhatsApp)."""

    headline: str = ""
    body: str = ""
    source_url: str = ""  # as the provider gave it: any scheme, checked before it is shown as a link
    source_type: str = ""  # "ad", "post", …
    source_id: str = ""


@dataclass(frozen=True)
class RichContent:
    """What a message carries beyond its text and attachments, in our terms."""

    button: Button | None = None
    location: Location | None = None
    replied_to_sid: str = ""  # the message (ours or theirs) this one quotes
    referral: AdReferral | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A message a lead sent, as a provider's parser reads it."""

    sid: str
    sender: str  # the lead's number as the provider wrote it (normalised by the caller)
    channel: str
    body: str = ""
    profile_name: str = ""
    attachments: tuple[Attachment, ...] = ()
    button: Button | None = None
    location: Location | None = None
    replied_to_sid: str = ""  # the message of ours (or theirs) this one quotes
    referral: AdReferral | None = None  # the ad or post that started the conversation
    details: dict = field(default_factory=dict)  # what else the provider said, in its own names (kept as evidence)
    opt_out: bool | None = None  # True: the text asks to stop (the provider's keywords); False: to start again

    @property
    def rich(self) -> RichContent:
        return RichContent(
            button=self.button, location=self.location, replied_to_sid=self.replied_to_sid, referral=self.referral
        )


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery status a provider reported for a message it took."""

    sid: str
    status: str  # one of MessageStatus's values; any other word is never applied
    error_code: int | None = None
    error_message: str = ""
    recipient_opted_out: bool = False


@dataclass(frozen=True)
class ProviderDeletion:
    """What became of a request to delete a message (and its media) at the provider."""

    DELETED = "deleted"
    ABSENT = "absent"  # the provider had no such message (already deleted, or never taken)
    FAILED = "failed"
    UNSUPPORTED = "unsupported"  # the provider keeps nothing that can be deleted through it

    sid: str
    outcome: str
    media_deleted: int = 0
    error: str = ""


class PermanentWebhookError(Exception):
    """The event can never be processed as it stands (a field repeated or too long, no SID); retrying would not help."""


class SendError(Exception):
    """The provider refused the message; it was not sent and will not be by trying again."""

    def __init__(self, message: str, *, code: int | None = None, recipient_opted_out: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.recipient_opted_out = recipient_opted_out


class RetryableSendError(SendError):
    """The provider certainly did not take the message (refused connection, 429, 5xx): safe to send again."""


class UnknownOutcomeError(SendError):
    """No answer in time: the provider may or may not have taken the message, so it is not resent blindly."""


class TemplatesUnavailable(Exception):
    """The provider's template catalogue could not be read (not configured, unreachable, wrong credentials)."""


@dataclass(frozen=True)
class ProviderTemplate:
    """One template of a provider's catalogue, in our terms."""

    sid: str
    name: str
    content: str
    language: str = ""
    variables: dict = field(default_factory=dict)
    approval_status: str = "unsubmitted"  # one of Template.ApprovalStatus's values
    rejection_reason: str = ""
    category: str = ""


@dataclass(frozen=True)
class UnreadableTemplate:
    """An item of a provider's catalogue that is not a usable template, and why."""

    sid: str
    error: str


class BaseBackend:
    provider = "base"  # the name webhook events and messages record
    max_body_length: int | None = None  # the longest text a message may carry; None: no limit
    needs_public_media_urls = False  # the provider fetches the files we send from PUBLIC_BASE_URL
    urls: str | None = None  # the module of its webhook's URL patterns
    has_template_catalogue = False
    opt_in_keywords: tuple[str, ...] = ()  # the words the provider itself takes as a lead opting in again

    def send(self, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError

    # Receiving: a stored payload becomes a neutral object.
    def event_kind_and_sid(self, payload: dict) -> tuple[str, str]:
        """("inbound" or "status", the message's SID or "") for the stored event; never raises."""
        return "inbound", ""

    def event_parties(self, payload: dict) -> tuple[str, str]:
        """(sender, recipient) of a stored event as the provider wrote them ("" where it names none); never raises."""
        return "", ""

    def parse(self, payload: dict) -> InboundMessage | StatusUpdate:
        """Raises PermanentWebhookError when the payload cannot be read (a backend that receives nothing: always)."""
        raise PermanentWebhookError(f"The {self.provider} backend receives no webhooks.")

    def details_content(self, details: dict) -> RichContent:
        """The rich content read back from the details its parser kept (`InboundMessage.details`): how messages
        stored before their content was kept in our terms get it; never raises."""
        return RichContent()

    def explain_error(self, code: int | None, provider_message: str = "") -> str:
        """What an error code means for an agent, in the current language; the provider's own text otherwise."""
        if code is None:
            return provider_message
        return provider_message or gettext("Error %(code)s.") % {"code": code}

    # The sender's rate (messages per second), shared by every worker.
    def send_rate(self, channel: str) -> float:
        return 1.0

    def sender_id(self, channel: str) -> str:
        return "default"

    # Inbound attachments.
    def media_url_refusal(self, url: str, hop: int) -> str | None:
        """Why `url` (at redirect `hop`, 0 for the first) must not be fetched, or None."""
        return None

    def media_credentials(self, url: str) -> tuple[str, str] | None:
        return None

    # Erasure: the provider's own copy of a message and its media.
    def message_delete(self, sid: str) -> ProviderDeletion:
        """Delete the message the provider knows as `sid` and its media there; never raises."""
        return ProviderDeletion(sid=sid, outcome=ProviderDeletion.UNSUPPORTED)

    # Templates.
    def templates(self) -> list[ProviderTemplate | UnreadableTemplate]:
        """The whole catalogue; TemplatesUnavailable when it cannot be read to the end."""
        raise TemplatesUnavailable(gettext("This messaging provider has no template catalogue."))


@cache
def _backend_class(path: str):
    return import_string(path)


def _configured_paths() -> list[str]:
    return [settings.MESSAGING_BACKEND, *settings.MESSAGING_CHANNEL_BACKENDS.values()]


def _known_paths() -> list[str]:
    """The configured backends, then every backend that may have stored webhook events (MESSAGING_PROVIDERS)."""
    return list(dict.fromkeys([*_configured_paths(), *settings.MESSAGING_PROVIDERS]))


def get_backend(channel: str | None = None) -> BaseBackend:
    """The backend that sends on `channel` (the default backend when none is given or configured for it)."""
    path = settings.MESSAGING_CHANNEL_BACKENDS.get(channel, settings.MESSAGING_BACKEND)
    return _backend_class(path)()


def backend_for_provider(provider: str) -> BaseBackend:
    """The backend whose name `provider` is (a webhook event's, a message's); the default one for an empty name."""
    if not provider:
        return get_backend()
    for path in _known_paths():
        backend_class = _backend_class(path)
        if backend_class.provider == provider:
            return backend_class()
    raise LookupError(f"No messaging backend is named {provider!r}.")


def webhook_url_modules() -> list[str]:
    """The URL modules of every known provider's webhook; a backend that cannot be
    imported is left out here and refused by the system check."""
    modules = []
    for path in _known_paths():
        try:
            modules.append(getattr(_backend_class(path), "urls", None))
        except ImportError:
            continue
    return list(dict.fromkeys(module for module in modules if module))
