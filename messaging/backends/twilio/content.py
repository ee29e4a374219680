"""Twilio's Content API: the WhatsApp templates of the account and their approval, read into our terms."""

import re

from django.conf import settings
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from messaging.backends.base import ProviderTemplate, TemplatesUnavailable, UnreadableTemplate
from messaging.models import ProviderLog

from .client import LoggedHttpClient

PAGE_SIZE = 500
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
# Where each content type keeps the text the lead reads, in the order they are looked at.
BODY_PATHS = [
    ("twilio/text", "body"),
    ("twilio/media", "body"),
    ("twilio/quick-reply", "body"),
    ("twilio/call-to-action", "body"),
    ("twilio/list-picker", "body"),
    ("twilio/card", "title"),
    ("whatsapp/card", "body"),
    ("whatsapp/authentication", "body"),
]
APPROVAL_STATUSES = frozenset({"unsubmitted", "received", "pending", "approved", "rejected", "paused", "disabled"})


def content_body(types: dict) -> str:
    for content_type, key in BODY_PATHS:
        value = (types.get(content_type) or {}).get(key)
        if isinstance(value, str) and value:
            return value
    raise ValueError(f"no text in its types ({', '.join(types) or 'none'})")


def provider_template(item) -> ProviderTemplate:
    """Our template from one ContentAndApprovals item; ValueError when it is not a usable template."""
    if not isinstance(item.sid, str) or not CONTENT_SID.match(item.sid):
        raise ValueError(f"not a content SID: {item.sid!r}")
    if not isinstance(item.types, dict):
        raise ValueError("no types")
    approvals = item.approval_requests if isinstance(item.approval_requests, dict) else {}
    if isinstance(approvals.get("whatsapp"), dict):  # both shapes: flat, or under "whatsapp"
        approvals = approvals["whatsapp"]
    status = str(approvals.get("status") or "unsubmitted").lower()
    if status not in APPROVAL_STATUSES:
        raise ValueError(f"unknown approval status {status!r}")
    return ProviderTemplate(
        sid=item.sid,
        name=item.friendly_name or item.sid,
        content=content_body(item.types),
        language=item.language or "",
        variables=item.variables if isinstance(item.variables, dict) else {},
        approval_status=status,
        rejection_reason=approvals.get("rejection_reason") or "",
        category=approvals.get("category") or "",
    )


def templates() -> list[ProviderTemplate | UnreadableTemplate]:
    """Every item of the account's catalogue (all pages); TemplatesUnavailable when it cannot be read to the end."""
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        raise TemplatesUnavailable("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set.")
    http = LoggedHttpClient(kind=ProviderLog.Kind.TEMPLATE_PAGE)
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)
    if settings.TWILIO_CONTENT_BASE_URL:
        client.content.base_url = settings.TWILIO_CONTENT_BASE_URL
    try:
        items = list(client.content.v1.content_and_approvals.stream(page_size=PAGE_SIZE))
    except TwilioException as exc:
        raise TemplatesUnavailable(f"Could not read Twilio's templates: {exc}") from exc
    except OSError as exc:  # requests' connection errors
        raise TemplatesUnavailable(f"Could not reach Twilio's Content API: {exc}") from exc
    result = []
    for item in items:
        try:
            result.append(provider_template(item))
        except (ValueError, TypeError, AttributeError) as exc:
            result.append(UnreadableTemplate(sid=str(getattr(item, "sid", "")), error=str(exc)))
    return result
