"""A stand-in for Twilio: realistic SIDs, and delivery progress through the real status-callback path."""

import random
import threading
import uuid

from celery import current_app
from django.db import close_old_connections, transaction

from .base import BaseBackend, OutgoingMessage, SendResult
from .twilio import MAX_BODY_LENGTH

# Seconds after the send at which each callback arrives; now and then a message fails instead.
PROGRESS = {"whatsapp": [(2, "sent"), (4, "delivered"), (9, "read")], "sms": [(2, "sent"), (5, "delivered")]}
FAILURE_RATE = 0.1
FAILURES = [("undelivered", 30003), ("undelivered", 30005), ("failed", 30008), ("undelivered", 30006)]
OUR_WHATSAPP = "whatsapp:+14155238886"
OUR_NUMBER = "+14155238886"


def progress_plan(sid: str, channel: str) -> list[tuple[int, str, int | None]]:
    """(delay, status, error code) for each callback; the same SID always gets the same story."""
    rng = random.Random(sid)  # noqa: S311 -- a demo's dice, not a secret
    if rng.random() < FAILURE_RATE:
        status, code = rng.choice(FAILURES)
        return [(2, "sent", None), (5, status, code)]
    return [(delay, status, None) for delay, status in PROGRESS[channel]]


def status_callback_payload(*, sid: str, to: str, channel: str, status: str, error_code: int | None) -> dict:
    whatsapp = channel == "whatsapp"
    payload = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": OUR_WHATSAPP if whatsapp else OUR_NUMBER,
        "To": f"whatsapp:{to}" if whatsapp else to,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        payload["ErrorCode"] = str(error_code)
    return payload


def deliver_status_callback(*, sid: str, to: str, channel: str, status: str, error_code: int | None) -> None:
    """Hand a simulated callback to the webhook's own storage and processing, as if Twilio had posted it."""
    from messaging.services.webhooks import webhook_event_store

    payload = status_callback_payload(sid=sid, to=to, channel=channel, status=status, error_code=error_code)
    webhook_event_store(payload=payload, signature_valid=None)


def _deliver_in_thread(**kwargs) -> None:
    close_old_connections()
    try:
        deliver_status_callback(**kwargs)
    finally:
        close_old_connections()


class SimulatorBackend(BaseBackend):
    """Works with no Twilio account: the zero-config demo sends, and its ticks move on their own."""

    max_body_length = MAX_BODY_LENGTH  # what the demo lets through, Twilio would too

    def send(self, message: OutgoingMessage) -> SendResult:
        sid = f"SM{uuid.uuid4().hex}"
        transaction.on_commit(lambda: self.schedule(sid, message))
        return SendResult(sid=sid, status="queued")

    def schedule(self, sid: str, message: OutgoingMessage) -> None:
        from messaging.tasks import simulate_status_callback

        for delay, status, code in progress_plan(sid, message.channel):
            kwargs = {"sid": sid, "to": message.to, "channel": message.channel, "status": status, "error_code": code}
            if current_app.conf.task_always_eager:
                # No broker (the zero-config run): a timer keeps the delays, so the demo's ticks move visibly.
                timer = threading.Timer(delay, _deliver_in_thread, kwargs=kwargs)
                timer.daemon = True
                timer.start()
            else:
                simulate_status_callback.apply_async(kwargs=kwargs, countdown=delay)
