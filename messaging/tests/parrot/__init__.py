"""A provider that exists only in the tests, to show what a new provider takes: this package and a setting.

"Parrot" speaks JSON: it posts `{"type": "message", "id", "from", "text"}` for a lead's message and
`{"type": "receipt", "id", "state", "code"}` for a delivery receipt, signed with an HMAC of the body in
X-Parrot-Signature. Nothing outside this package knows any of it."""

import hashlib
import hmac
import uuid

from django.utils.translation import gettext

from messaging.backends.base import (
    BaseBackend,
    InboundMessage,
    OutgoingMessage,
    PermanentWebhookError,
    SendError,
    SendResult,
    StatusUpdate,
)

SECRET = b"parrot-test-secret"
STATES = {"accepted": "queued", "handed": "sent", "arrived": "delivered", "seen": "read", "lost": "failed"}
BLOCKED = 7  # Parrot's code for a recipient who said STOP
EXPLANATIONS = {BLOCKED: "The recipient blocked this sender at Parrot.", 9: "Parrot's network lost the message."}
outbox: list[OutgoingMessage] = []
refusals: list[int] = []  # codes Parrot answers the next sends with


def sign(body: bytes) -> str:
    return hmac.new(SECRET, body, hashlib.sha256).hexdigest()


class ParrotBackend(BaseBackend):
    provider = "parrot"
    max_body_length = 160
    urls = "messaging.tests.parrot.urls"

    def send(self, message: OutgoingMessage) -> SendResult:
        if refusals:
            code = refusals.pop(0)
            raise SendError(EXPLANATIONS.get(code, "refused"), code=code, recipient_opted_out=code == BLOCKED)
        outbox.append(message)
        return SendResult(sid=f"PR{uuid.uuid4().hex}", status="queued")

    def event_kind_and_sid(self, payload: dict) -> tuple[str, str]:
        return ("status" if payload.get("type") == "receipt" else "inbound"), str(payload.get("id") or "")[:64]

    def parse(self, payload: dict) -> InboundMessage | StatusUpdate:
        if not payload.get("id"):
            raise PermanentWebhookError("Parrot sent no id.")
        if payload.get("type") == "receipt":
            code = payload.get("code")
            return StatusUpdate(
                sid=payload["id"],
                status=STATES.get(payload.get("state"), ""),
                error_code=code,
                error_message=payload.get("reason", ""),
                recipient_opted_out=code == BLOCKED,
            )
        text = payload.get("text", "")
        return InboundMessage(
            sid=payload["id"],
            sender=payload.get("from", ""),
            channel="sms",
            body=text,
            opt_out={"HALT": True, "RESUME": False}.get(text.strip().upper()),
        )

    def explain_error(self, code: int | None, provider_message: str = "") -> str:
        if code in EXPLANATIONS:
            return EXPLANATIONS[code]
        return provider_message or gettext("Error %(code)s.") % {"code": code}

    def send_rate(self, channel: str) -> float:
        return 5.0

    def sender_id(self, channel: str) -> str:
        return "parrot-line-1"
