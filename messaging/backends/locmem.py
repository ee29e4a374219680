import itertools

from .base import BaseBackend, OutgoingMessage, SendResult

outbox: list[OutgoingMessage] = []
_sids = itertools.count(1)


class LocmemBackend(BaseBackend):
    """Keeps what would have been sent in `outbox`, for tests."""

    def send(self, message: OutgoingMessage) -> SendResult:
        outbox.append(message)
        return SendResult(sid=f"SM{next(_sids):032x}", status="queued")
