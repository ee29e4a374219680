"""Attachments, served to signed-in users and (by a signed link) to the provider fetching what we send."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core import signing
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_safe

from accounts.permissions import VIEW_MEDIA

from . import media_types
from .models import PUBLIC_MEDIA_MAX_AGE, PUBLIC_MEDIA_SALT, MessageMedia


def refuse(status: int, reason: str) -> HttpResponse:
    """A refusal in plain words (webhooks and media links answer machines and people alike)."""
    return HttpResponse(reason + "\n", status=status, content_type="text/plain; charset=utf-8")


@require_safe
def public_media(request, token):
    """An attachment we send, for the provider (GET and HEAD, no login): the signed token is the permission."""
    try:
        pk = signing.loads(token, salt=PUBLIC_MEDIA_SALT, max_age=PUBLIC_MEDIA_MAX_AGE)
    except signing.BadSignature:
        return refuse(404, "Unknown or expired link.")
    media = get_object_or_404(MessageMedia, pk=pk, status=MessageMedia.Status.STORED)
    return media_response(media)


@login_required
@permission_required(VIEW_MEDIA, raise_exception=True)
@require_GET
def media_file(request, pk):
    """An attachment, served to signed-in users from wherever it is stored (local disk or S3)."""
    media = get_object_or_404(MessageMedia, pk=pk)
    if media.status != MessageMedia.Status.STORED:
        return refuse(404, f"Attachment not stored yet ({media.get_status_display()}).")
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
