"""Templates from Twilio's Content API: one sync, whoever starts it (command, admin, beat, endpoint)."""

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from happycrm.validators import contains_nul

from .models import Template

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
APPROVAL = {status.value: status for status in Template.ApprovalStatus}


class TemplateSyncError(Exception):
    """Twilio could not be read (unreachable, wrong credentials): nothing was changed."""


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "deactivated": self.deactivated,
            "failed": self.failed,
            "unchanged": self.unchanged,
        }

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, {len(self.deactivated)} deactivated, "
            f"{len(self.failed)} failed, {self.unchanged} unchanged."
        )


def content_body(types: dict) -> str:
    for content_type, key in BODY_PATHS:
        value = (types.get(content_type) or {}).get(key)
        if isinstance(value, str) and value:
            return value
    raise ValueError(f"no text in its types ({', '.join(types) or 'none'})")


def content_fields(item) -> dict:
    """Our fields from one ContentAndApprovals item; ValueError when it is not a usable template."""
    if not isinstance(item.sid, str) or not CONTENT_SID.match(item.sid):
        raise ValueError(f"not a content SID: {item.sid!r}")
    if not isinstance(item.types, dict):
        raise ValueError("no types")
    approvals = item.approval_requests if isinstance(item.approval_requests, dict) else {}
    if isinstance(approvals.get("whatsapp"), dict):  # both shapes: flat, or under "whatsapp"
        approvals = approvals["whatsapp"]
    status = str(approvals.get("status") or "unsubmitted").lower()
    if status not in APPROVAL:
        raise ValueError(f"unknown approval status {status!r}")
    fields = {
        "name": (item.friendly_name or item.sid)[:200],
        "content": content_body(item.types),
        "language": item.language or "",
        "variables": item.variables if isinstance(item.variables, dict) else {},
        "approval_status": APPROVAL[status],
        "rejection_reason": approvals.get("rejection_reason") or "",
        "category": (approvals.get("category") or "")[:64],
        "status": Template.Status.ACTIVE,
    }
    if contains_nul(fields):
        raise ValueError("a field holds a NUL character, which cannot be stored")
    return fields


def _fetch_all() -> list:
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    if settings.TWILIO_CONTENT_BASE_URL:
        client.content.base_url = settings.TWILIO_CONTENT_BASE_URL
    try:
        return list(client.content.v1.content_and_approvals.stream(page_size=PAGE_SIZE))
    except TwilioException as exc:
        raise TemplateSyncError(f"Could not read Twilio's templates: {exc}") from exc
    except OSError as exc:  # requests' connection errors
        raise TemplateSyncError(f"Could not reach Twilio's Content API: {exc}") from exc


def templates_sync() -> SyncReport:
    """Create or update every template Twilio has (all pages), deactivate those it no longer has.

    A malformed item is reported and skipped; the rest sync. If Twilio cannot be read to the
    end, nothing changes. A second run with nothing new changes nothing.
    """
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        raise TemplateSyncError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set.")
    items = _fetch_all()
    report = SyncReport()
    seen = set()
    with transaction.atomic():
        existing = {template.content_sid: template for template in Template.objects.exclude(content_sid=None)}
        for item in items:
            try:
                fields = content_fields(item)
            except (ValueError, TypeError, AttributeError) as exc:
                report.failed.append({"sid": str(getattr(item, "sid", "")), "error": str(exc)})
                continue
            seen.add(item.sid)
            template = existing.get(item.sid)
            if template is None:
                Template.objects.create(content_sid=item.sid, **fields)
                report.created.append(fields["name"])
            elif any(getattr(template, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(template, name, value)
                template.save()
                report.updated.append(fields["name"])
            else:
                report.unchanged += 1
        failed_sids = {entry["sid"] for entry in report.failed}
        for sid, template in existing.items():
            if sid not in seen and sid not in failed_sids and template.status == Template.Status.ACTIVE:
                template.status = Template.Status.INACTIVE
                template.save(update_fields=["status", "updated_at"])
                report.deactivated.append(template.name)
    return report
