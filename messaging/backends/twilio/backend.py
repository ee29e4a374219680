from functools import cached_property

from django.conf import settings

from messaging.backends.base import BaseBackend, OutgoingMessage, ProviderDeletion, SendResult

from . import content, erase, media, parser
from .client import PROVIDER, client, erase_client, message_create
from .codes import TwilioLimits


class TwilioBackend(TwilioLimits, BaseBackend):
    """WhatsApp and SMS through Twilio; TWILIO_API_BASE_URL points it at another server (tests, a stand-in)."""

    provider = PROVIDER
    needs_public_media_urls = True  # Twilio fetches attachments itself
    urls = "messaging.backends.twilio.urls"

    @cached_property
    def client(self):
        return client()

    @property
    def has_template_catalogue(self) -> bool:
        return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)

    def send(self, message: OutgoingMessage) -> SendResult:
        return message_create(self.client, message)

    def event_kind_and_sid(self, payload: dict) -> tuple[str, str]:
        return parser.kind_and_sid(payload)

    def event_parties(self, payload: dict) -> tuple[str, str]:
        return parser.parties(payload)

    def parse(self, payload: dict):
        return parser.parse(payload)

    def details_content(self, details: dict):
        return parser.details_content(details)

    def message_delete(self, sid: str) -> ProviderDeletion:
        return erase.message_delete(erase_client(), sid)

    def media_url_refusal(self, url: str, hop: int) -> str | None:
        return media.media_url_refusal(url, hop)

    def media_credentials(self, url: str) -> tuple[str, str] | None:
        return media.media_credentials(url)

    def templates(self):
        return content.templates()
