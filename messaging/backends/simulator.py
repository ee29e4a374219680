"""A stand-in for Twilio: realistic SIDs, and delivery progress through the real webhook storage and processing.

Its callbacks and the inbound messages `manage.py simulate_inbound` makes are webhook events of its own, in its
own simple form, read by its own parser; the delays are a task of its own, found by its name."""

import random
import threading
import uuid

from celery import current_app
from django.db import close_old_connections, transaction

from happycrm.queue import task_named
from messaging.models import Channel

from .base import (
    BaseBackend,
    InboundMessage,
    OutgoingMessage,
    PermanentWebhookError,
    ProviderDeletion,
    SendResult,
    StatusUpdate,
)
from .twilio.codes import OPTED_OUT_ERROR, TwilioLimits, opt_change

PROVIDER = "simulator"
STATUS_CALLBACK_TASK = "messaging.simulate_status_callback"
# Seconds after the send at which each callback arrives; now and then a message fails instead.
PROGRESS = {
    Channel.WHATSAPP: [(2, "sent"), (4, "delivered"), (9, "read")],
    Channel.SMS: [(2, "sent"), (5, "delivered")],
}
FAILURE_RATE = 0.1
FAILURES = [("undelivered", 30003), ("undelivered", 30005), ("failed", 30008), ("undelivered", 30006)]


def progress_plan(sid: str, channel: str) -> list[tuple[int, str, int | None]]:
    """(delay, status, error code) for each callback; the same SID always gets the same story."""
    rng = random.Random(sid)  # noqa: S311 -- a demo's dice, not a secret
    if rng.random() < FAILURE_RATE:
        status, code = rng.choice(FAILURES)
        return [(2, "sent", None), (5, status, code)]
    return [(delay, status, None) for delay, status in PROGRESS[channel]]


def status_callback_payload(*, sid: str, status: str, error_code: int | None) -> dict:
    return {"kind": "status", "sid": sid, "status": status, "error_code": error_code}


def inbound_payload(*, sender: str, channel: str, body: str, profile_name: str = "") -> dict:
    """An inbound message as the simulator posts it (`manage.py simulate_inbound`)."""
    return {
        "kind": "inbound",
        "sid": f"SM{uuid.uuid4().hex}",
        "from": sender,
        "channel": channel,
        "body": body,
        "profile_name": profile_name,
    }


def _text(payload: dict, name: str) -> str:
    value = payload.get(name) or ""
    if not isinstance(value, str):
        raise PermanentWebhookError(f"The field {name} is not a text.")
    return value


def _run_in_thread(task, kwargs: dict) -> None:
    close_old_connections()
    try:
        task.apply(kwargs=kwargs)
    finally:
        close_old_connections()


class SimulatorBackend(TwilioLimits, BaseBackend):
    """Works with no Twilio account: the zero-config demo sends, and its ticks move on their own."""

    provider = PROVIDER

    def send(self, message: OutgoingMessage) -> SendResult:
        sid = f"SM{uuid.uuid4().hex}"
        transaction.on_commit(lambda: self.schedule(sid, message))
        return SendResult(sid=sid, status="queued")

    def schedule(self, sid: str, message: OutgoingMessage) -> None:
        task = task_named(STATUS_CALLBACK_TASK)
        for delay, status, code in progress_plan(sid, message.channel):
            kwargs = {"sid": sid, "status": status, "error_code": code}
            if current_app.conf.task_always_eager:
                # No broker (the zero-config run): a timer keeps the delays, so the demo's ticks move visibly.
                timer = threading.Timer(delay, _run_in_thread, args=(task, kwargs))
                timer.daemon = True
                timer.start()
            else:
                task.apply_async(kwargs=kwargs, countdown=delay)

    def event_kind_and_sid(self, payload: dict) -> tuple[str, str]:
        sid = payload.get("sid")
        return ("status" if payload.get("kind") == "status" else "inbound"), sid if isinstance(sid, str) else ""

    def event_parties(self, payload: dict) -> tuple[str, str]:
        sender = payload.get("from")
        return (sender if isinstance(sender, str) else ""), ""

    def message_delete(self, sid: str) -> ProviderDeletion:
        """It keeps no copy of what it carried: nothing is left to delete."""
        return ProviderDeletion(sid=sid, outcome=ProviderDeletion.DELETED)

    def parse(self, payload: dict) -> InboundMessage | StatusUpdate:
        sid = _text(payload, "sid")
        if not sid:
            raise PermanentWebhookError("The event has no sid.")
        if payload.get("kind") == "status":
            code = payload.get("error_code")
            return StatusUpdate(
                sid=sid,
                status=_text(payload, "status"),
                error_code=code if isinstance(code, int) else None,
                recipient_opted_out=code == OPTED_OUT_ERROR,
            )
        body = _text(payload, "body")
        return InboundMessage(
            sid=sid,
            sender=_text(payload, "from"),
            channel=_text(payload, "channel"),
            body=body,
            profile_name=_text(payload, "profile_name"),
            opt_out=opt_change(body),
        )
