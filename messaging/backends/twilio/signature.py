"""Twilio's request signature (X-Twilio-Signature), checked on the URL Twilio signed."""

from django.conf import settings
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm


def signed_url(request) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path + query, else this request's own URL.

    The request's scheme honours X-Forwarded-Proto only when DJANGO_TRUST_X_FORWARDED_PROTO
    is on; a fragment is never sent to the server, so it never takes part.
    """
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + request.get_full_path()
    return request.build_absolute_uri()


def signature_check(request, params) -> bool | None:
    """True when the request is signed with our auth token, False when not (or unsigned), None when validation
    is switched off (TWILIO_VALIDATE_SIGNATURE=false, refused under production settings)."""
    if not settings.TWILIO_VALIDATE_SIGNATURE:
        return None
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(signed_url(request), params, signature, algorithm=algorithm)
