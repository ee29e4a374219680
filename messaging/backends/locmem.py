import uuid

from .base import BaseBackend, OutgoingMessage, SendResult
from .twilio import MAX_BODY_LENGTH

outbox: list[OutgoingMessage] = []


class LocmemBackend(BaseBackend):
    """Keeps what would have been sent in `outbox`, for tests; Twilio's limits apply, as they would in production."""

    max_body_length = MAX_BODY_LENGTH

    def send(self, message: OutgoingMessage) -> SendResult:
        outbox.append(message)
        return SendResult(sid=f"SM{uuid.uuid4().hex}", status="queued")
