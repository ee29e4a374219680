import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core import signing
from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm

from accounts.permissions import VIEW_MEDIA

from . import media_types
from .models import PUBLIC_MEDIA_MAX_AGE, PUBLIC_MEDIA_SALT, MessageMedia, WebhookEvent
from .services.webhooks import signature_rejection_record, webhook_event_store

logger = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 64 * 1024  # Twilio's largest payloads (1600-character body, ten media URLs) are a few KB
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _refuse(status: int, reason: str) -> HttpResponse:
    return HttpResponse(reason + "\n", status=status, content_type="text/plain; charset=utf-8")


def signed_url(request) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path + query, else this request's own URL.

    The request's scheme honours X-Forwarded-Proto only when DJANGO_TRUST_X_FORWARDED_PROTO
    is on; a fragment is never sent to the server, so it never takes part.
    """
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + request.get_full_path()
    return request.build_absolute_uri()


@csrf_exempt
@require_POST
def twilio_webhook(request):
    """Twilio's inbound messages and status callbacks: validated, stored, queued, answered at once."""
    if request.content_type != FORM_CONTENT_TYPE:
        return _refuse(400, f"Expected {FORM_CONTENT_TYPE} form data.")
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
            return _refuse(400, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
        params = request.POST
    except (SuspiciousOperation, ValueError):
        return _refuse(400, "Malformed form data.")

    signature_valid = None
    if settings.TWILIO_VALIDATE_SIGNATURE:
        signature = request.headers.get("X-Twilio-Signature", "")
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
        if not signature or not validator.validate(signed_url(request), params, signature, algorithm=algorithm):
            signature_rejection_record()
            logger.warning(
                "Twilio webhook refused: %s signature from %s for %s",
                "invalid" if signature else "missing",
                request.META.get("REMOTE_ADDR", "?"),
                signed_url(request),
            )
            return _refuse(403, "Invalid or missing X-Twilio-Signature.")
        signature_valid = True

    if not (params.get("MessageSid") or params.get("SmsSid")):
        return _refuse(400, "Missing MessageSid.")

    payload = {key: values[0] if len(values) == 1 else values for key, values in params.lists()}
    try:
        event = webhook_event_store(
            payload=payload,
            signature_valid=signature_valid,
            idempotency_token=request.headers.get("I-Twilio-Idempotency-Token", ""),
        )
    except (OperationalError, InterfaceError):
        # The database is unreachable (a refused or lost connection, a pool timeout): nothing else gets a 503.
        logger.exception("Twilio webhook could not be stored; answering 503 so Twilio's fallback applies")
        return _refuse(503, "Temporarily unable to store the request.")

    if event.kind == WebhookEvent.Kind.INBOUND:
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")
    return HttpResponse(status=200)


@require_safe
def public_media(request, token):
    """An attachment we send, for Twilio (GET and HEAD, no login): the signed token is the permission."""
    try:
        pk = signing.loads(token, salt=PUBLIC_MEDIA_SALT, max_age=PUBLIC_MEDIA_MAX_AGE)
    except signing.BadSignature:
        return _refuse(404, "Unknown or expired link.")
    media = get_object_or_404(MessageMedia, pk=pk, status=MessageMedia.Status.STORED)
    return media_response(media)


@login_required
@permission_required(VIEW_MEDIA, raise_exception=True)
@require_GET
def media_file(request, pk):
    """An attachment, served to signed-in users from wherever it is stored (local disk or S3)."""
    media = get_object_or_404(MessageMedia, pk=pk)
    if media.status != MessageMedia.Status.STORED:
        return _refuse(404, f"Attachment not stored yet ({media.get_status_display()}).")
    return media_response(media)


def media_response(media: MessageMedia) -> FileResponse:
    """Every attachment response, whoever asks: a lead's file must never run in our origin.

    The type is judged from the bytes again (a row stored before sniffing may carry a sender's type); only
    images, audio and video whose bytes match are shown inline, everything else is a download. The sandbox
    CSP keeps even a misjudged file from running script or reaching our cookies and API.
    """
    handle = media.file.open("rb")
    head = handle.read(media_types.SNIFF_BYTES)
    handle.seek(0)
    content_type = media_types.content_type_for(head, declared=media.content_type)
    inline = media_types.display_kind(content_type) != "file"
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=not inline,
        filename=media_types.download_name(media.pk.hex[:8], content_type),
    )
    response["Content-Security-Policy"] = "sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
