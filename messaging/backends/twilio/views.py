"""Twilio's webhook: inbound messages and status callbacks, validated, stored, queued, answered at once."""

import logging

from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from happycrm.endpoints import machine_endpoint
from messaging.models import WebhookEvent
from messaging.services.webhooks import signature_rejection_record, webhook_event_store
from messaging.views import refuse

from .parser import is_status_callback
from .signature import signature_check, signed_url

logger = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 64 * 1024  # Twilio's largest payloads (1600-character body, ten media URLs) are a few KB
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@machine_endpoint
@csrf_exempt
@require_POST
def twilio_webhook(request):
    if request.content_type != FORM_CONTENT_TYPE:
        return refuse(400, f"Expected {FORM_CONTENT_TYPE} form data.")
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
            return refuse(400, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
        params = request.POST
    except (SuspiciousOperation, ValueError):
        return refuse(400, "Malformed form data.")

    signature_valid = signature_check(request, params)
    if signature_valid is False:
        signature_rejection_record()
        logger.warning(
            "Twilio webhook refused: %s signature from %s for %s",
            "invalid" if request.headers.get("X-Twilio-Signature") else "missing",
            request.META.get("REMOTE_ADDR", "?"),
            signed_url(request),
        )
        return refuse(403, "Invalid or missing X-Twilio-Signature.")

    if not (params.get("MessageSid") or params.get("SmsSid")):
        return refuse(400, "Missing MessageSid.")

    payload = {key: values[0] if len(values) == 1 else values for key, values in params.lists()}
    try:
        event = webhook_event_store(
            provider="twilio",
            payload=payload,
            signature_valid=signature_valid,
            idempotency_token=request.headers.get("I-Twilio-Idempotency-Token", ""),
        )
    except (OperationalError, InterfaceError):
        # The database is unreachable (a refused or lost connection, a pool timeout): nothing else gets a 503.
        logger.exception("Twilio webhook could not be stored; answering 503 so Twilio's fallback applies")
        return refuse(503, "Temporarily unable to store the request.")

    if event is None:  # about an erased message: dropped, and answered as if taken so Twilio stops retrying
        return (
            HttpResponse(status=200)
            if is_status_callback(payload)
            else HttpResponse(EMPTY_TWIML, content_type="text/xml")
        )
    if event.kind == WebhookEvent.Kind.INBOUND:
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")
    return HttpResponse(status=200)
