import uuid

from .base import BaseBackend, OutgoingMessage, SendResult

outbox: list[OutgoingMessage] = []


class LocmemBackend(BaseBackend):
    """Keeps what would have been sent in `outbox`, for tests."""

    def send(self, message: OutgoingMessage) -> SendResult:
        outbox.append(message)
        return SendResult(sid=f"SM{uuid.uuid4().hex}", status="queued")
