"""`Idempotency-Key` for the API's writes: the same key from the same user within a day gets the first answer
again, and the write happens once.

The first request claims the key (a committed row, "running"); a repeat meanwhile is 409. Its work and the answer
it gets are committed together, so a process that dies mid-way leaves neither a half-done write nor an answer: the
claim stays "running" until ABANDONED_AFTER (longer than any request may run), after which a retry does the work.
The same key with a different request (method, path or body) is 422. A server error's claim is released: a retry
runs again. Answers are kept KEPT; retention deletes them after.
"""

import datetime
import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from happycrm.rest.errors import ApiError

from .models import IdempotentRequest

HEADER = "Idempotency-Key"
KEPT = IdempotentRequest.KEPT
ABANDONED_AFTER = datetime.timedelta(minutes=5)
MAX_LENGTH = IdempotentRequest._meta.get_field("key").max_length
REPLAYED_HEADER = "Idempotent-Replayed"

PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Any unique string (a UUID) of at most 255 characters. The same key again within 24 hours answers with "
        "the first request's answer (header `Idempotent-Replayed: true`) and does nothing more; with a different "
        "request it is 422; while the first is still running, 409."
    ),
)


def _canonical(value) -> object:
    if hasattr(value, "chunks"):  # an uploaded file: its name, size and content
        content = hashlib.sha256()
        for chunk in value.chunks():
            content.update(chunk)
        value.seek(0)
        return ["file", value.name, value.size, content.hexdigest()]
    return value


def request_fingerprint(request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a form or multipart body: its fields in a stable order, files by content
        data = sorted((name, [_canonical(value) for value in values]) for name, values in data.lists())
    body = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.get_full_path()}\n{body}".encode()).hexdigest()


def _claim(*, user, key: str, fingerprint: str) -> tuple[IdempotentRequest | None, IdempotentRequest | None]:
    """(our claim, None), or (None, the earlier request holding the key)."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotentRequest.objects.create(user=user, key=key, fingerprint=fingerprint), None
        except IntegrityError:
            earlier = IdempotentRequest.objects.filter(user=user, key=key).first()
            if earlier is None:
                continue  # released meanwhile: claim again
            now = timezone.now()
            if earlier.created_at < now - KEPT:
                IdempotentRequest.objects.filter(pk=earlier.pk, created_at=earlier.created_at).delete()
                continue
            abandoned = earlier.status_code is None and earlier.created_at < now - ABANDONED_AFTER
            if abandoned and earlier.fingerprint == fingerprint:
                if IdempotentRequest.objects.filter(
                    pk=earlier.pk, status_code=None, created_at=earlier.created_at
                ).update(created_at=now):
                    earlier.created_at = now
                    return earlier, None
                continue  # another retry took it over first
            return None, earlier
    raise ApiError(
        _("A request with this Idempotency-Key is still running; retry when it has finished."),
        code="idempotency_key_in_use",
        status_code=status.HTTP_409_CONFLICT,
    )


def _earlier_answer(earlier: IdempotentRequest, fingerprint: str) -> Response:
    if earlier.fingerprint != fingerprint:
        raise ApiError(
            _("This Idempotency-Key was used for a different request."),
            code="idempotency_key_reused",
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if earlier.status_code is None:
        raise ApiError(
            _("A request with this Idempotency-Key is still running; retry when it has finished."),
            code="idempotency_key_in_use",
            status_code=status.HTTP_409_CONFLICT,
        )
    return Response(earlier.response, status=earlier.status_code, headers={REPLAYED_HEADER: "true"})


def idempotent(method):
    """Decorate a DRF view's write (`post`, `create`, an action): with an Idempotency-Key, it runs at most once.

    Only a success is kept (as Stripe does): a refusal (4xx) or a server error releases the key, and a retry runs
    again, with the same key, once the request is put right."""

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return method(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_LENGTH or not key.isprintable():
            raise ApiError(
                _("An Idempotency-Key is 1 to %(max)d printable characters.") % {"max": MAX_LENGTH},
                code="invalid_idempotency_key",
            )
        fingerprint = request_fingerprint(request)
        claim, earlier = _claim(user=request.user, key=key, fingerprint=fingerprint)
        if claim is None:
            return _earlier_answer(earlier, fingerprint)
        try:
            with transaction.atomic():
                try:
                    response = method(view, request, *args, **kwargs)
                except Exception as exc:
                    response = view.handle_exception(exc)  # a refusal's answer; a server error raises again
                if response.status_code < 400:  # the answer is committed with the work it reports
                    claim.status_code = response.status_code
                    claim.response = response.data if response.data is not None else {}
                    claim.save(update_fields=["status_code", "response"])
                else:
                    transaction.set_rollback(True)  # a refusal keeps nothing of the request
        except BaseException:
            IdempotentRequest.objects.filter(pk=claim.pk).delete()
            raise
        if response.status_code >= 400:
            IdempotentRequest.objects.filter(pk=claim.pk).delete()
        return response

    return extend_schema(parameters=[PARAMETER])(wrapper)
