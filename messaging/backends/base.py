"""What every messaging backend does, and how it reports failure."""

from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class OutgoingMessage:
    to: str  # E.164
    channel: str  # "whatsapp" or "sms"
    body: str = ""
    media_urls: tuple[str, ...] = ()
    content_sid: str = ""
    content_variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


class SendError(Exception):
    """The provider refused the message; it was not sent and will not be by trying again."""

    def __init__(self, message: str, *, code: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message


class RetryableSendError(SendError):
    """The provider certainly did not take the message (refused connection, 429, 5xx): safe to send again."""


class UnknownOutcomeError(SendError):
    """No answer in time: the provider may or may not have taken the message, so it is not resent blindly."""


class BaseBackend:
    # The longest text a message may carry (a free-form body, a caption, a rendered template); None: no limit.
    max_body_length: int | None = None

    def send(self, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError


@cache
def _backend_class(path: str):
    return import_string(path)


def get_backend() -> BaseBackend:
    return _backend_class(settings.MESSAGING_BACKEND)()
