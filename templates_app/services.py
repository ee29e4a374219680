"""Templates from the WhatsApp provider's catalogue: one sync, whoever starts it (command, admin, beat, endpoint)."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from happycrm.validators import contains_nul
from messaging.backends.base import BaseBackend, ProviderTemplate, TemplatesUnavailable, UnreadableTemplate, get_backend
from messaging.models import Channel

from .models import CannedReply, Template

NAME_MAX_LENGTH = Template._meta.get_field("name").max_length
CATEGORY_MAX_LENGTH = Template._meta.get_field("category").max_length
APPROVAL = {status.value: status for status in Template.ApprovalStatus}


class TemplateSyncError(Exception):
    """The provider's catalogue could not be read (not configured, unreachable, wrong credentials): nothing changed."""


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


def template_fields(item: ProviderTemplate) -> dict:
    """Our fields from one of the provider's templates; ValueError when they cannot be stored."""
    if item.approval_status not in APPROVAL:
        raise ValueError(f"unknown approval status {item.approval_status!r}")
    fields = {
        "name": item.name[:NAME_MAX_LENGTH],
        "content": item.content,
        "language": item.language,
        "variables": item.variables,
        "approval_status": APPROVAL[item.approval_status],
        "rejection_reason": item.rejection_reason,
        "category": item.category[:CATEGORY_MAX_LENGTH],
        "status": Template.Status.ACTIVE,
    }
    if contains_nul(fields):
        raise ValueError("a field holds a NUL character, which cannot be stored")
    return fields


def templates_backend() -> BaseBackend:
    """The provider WhatsApp's templates come from: the WhatsApp channel's."""
    return get_backend(Channel.WHATSAPP)


def templates_sync() -> SyncReport:
    """Create or update every template the provider has (all pages), deactivate those it no longer has.

    A malformed item is reported and skipped; the rest sync. If the catalogue cannot be read to the
    end, nothing changes. A second run with nothing new changes nothing.
    """
    try:
        items = templates_backend().templates()
    except TemplatesUnavailable as exc:
        raise TemplateSyncError(str(exc)) from exc
    report = SyncReport()
    seen = set()
    with transaction.atomic():
        existing = {template.content_sid: template for template in Template.objects.exclude(content_sid=None)}
        for item in items:
            try:
                if isinstance(item, UnreadableTemplate):
                    raise ValueError(item.error)
                fields = template_fields(item)
            except ValueError as exc:
                report.failed.append({"sid": item.sid, "error": str(exc)})
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


CANNED_TEXT_MAX = 1600  # the longest SMS body Twilio takes; a WhatsApp text may be longer, a reply need not


def canned_reply_check(*, reply: CannedReply) -> None:
    """ValidationError (per field) unless the reply can be saved: a shortcut of letters, digits, - and _ that is
    not taken (among the shared ones, or among its owner's), a text of at most CANNED_TEXT_MAX characters."""
    reply.shortcut = reply.shortcut.strip().lstrip("/")
    reply.text = reply.text.strip()
    errors = {}
    try:
        reply.full_clean(exclude=["owner"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors = exc.message_dict
    if "text" not in errors and len(reply.text) > CANNED_TEXT_MAX:
        errors["text"] = [_("At most %(max)d characters.") % {"max": CANNED_TEXT_MAX}]
    taken = CannedReply.objects.filter(shortcut=reply.shortcut, owner=reply.owner).exclude(pk=reply.pk)
    if "shortcut" not in errors and taken.exists():
        errors["shortcut"] = [_shortcut_taken()]
    if errors:
        raise ValidationError(errors)


def _shortcut_taken() -> ValidationError:
    return ValidationError(_("This shortcut is taken; choose another."), code="duplicate")


def canned_reply_save(*, reply: CannedReply) -> CannedReply:
    """Save a canned reply (the admin's shared ones, an agent's own), checked first; the unique indexes decide
    between two saves of one shortcut at once."""
    canned_reply_check(reply=reply)
    try:
        with transaction.atomic():
            reply.save()
    except IntegrityError:
        raise ValidationError({"shortcut": [_shortcut_taken()]}) from None
    return reply


def canned_reply_delete(*, reply: CannedReply) -> None:
    reply.delete()
