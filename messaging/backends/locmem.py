import uuid

from .base import BaseBackend, OutgoingMessage, ProviderDeletion, SendResult
from .twilio.codes import TwilioLimits

outbox: list[OutgoingMessage] = []
deleted: list[str] = []  # the SIDs erasure asked it to delete


class LocmemBackend(TwilioLimits, BaseBackend):
    """Keeps what would have been sent in `outbox`, for tests; Twilio's limits apply, as they would in production."""

    provider = "locmem"

    def send(self, message: OutgoingMessage) -> SendResult:
        outbox.append(message)
        return SendResult(sid=f"SM{uuid.uuid4().hex}", status="queued")

    def message_delete(self, sid: str) -> ProviderDeletion:
        deleted.append(sid)
        return ProviderDeletion(sid=sid, outcome=ProviderDeletion.DELETED)
