"""The provider HTTP log (RapidPro's HTTPLog): one recording function for every exchange with a provider.

A provider's HTTP client wraps each request in `exchange_logged(...)`; what the exchange concerns (a message, a
template) comes from `log_context(...)`, set by the service that called the provider, so no provider method needs
new parameters. Secrets are redacted before anything is stored: credential values the client sent, form, JSON and
query values whose key names a secret, credentials inside a URL, and the signed part of our public media links
(they open a file to anyone for a week). Bodies are kept up to ProviderLog.MAX_BODY_LENGTH characters.

It sits with the backends (below the services) because the backends call it; it writes only its own rows, and a
failure to write one never changes the outcome of the exchange.
"""

import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.db import DatabaseError, transaction
from django.urls import reverse

from messaging.models import ProviderLog

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
# A key is secret when one of its words is one of these ("AuthToken", "X-Amz-Signature", "client_secret"), or it
# says "api key"; "whatsapp/authentication" (a kind of template) is not.
SECRET_WORDS = frozenset(
    {"auth", "authorization", "credential", "credentials", "pass", "passwd", "password", "pwd", "secret", "secrets"}
    | {"sig", "signature", "token", "apikey"}
)
NOT_SECRET_KEYS = frozenset({"pagetoken"})  # a page's cursor, not a credential
KEY_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# key=value and "key": "value" in a text that is neither JSON nor a form we could read.
# Keys are bounded and start where a word starts, so a long run of letters costs linear time, not quadratic.
TEXT_PAIR = re.compile(r"""(?<![\w.-])(?P<key>[\w.-]{1,64})(?P<sep>=|["']?\s*:\s*["'])(?P<value>[^&\s"'<>,}]+)""")
# "Authorization: Basic …" as a header line in a text.
HEADER_LINE = re.compile(r"(?m)^(?P<key>[\w-]{1,64}):[ \t]*(?P<value>\S.*)$")
MAX_READ = 1_000_000  # characters of a body read at all (a text attachment may be 25 MB); far more than is kept
MIN_SECRET_LENGTH = 6  # a shorter "secret" would blank out ordinary words everywhere
TEXTUAL_TYPES = ("text/", "application/json", "application/xml", "application/problem+json", "application/x-www-form")


def is_secret_key(key) -> bool:
    if re.sub(r"[\W_]", "", str(key)).lower() in NOT_SECRET_KEYS:
        return False
    words = [word.lower() for word in KEY_WORDS.findall(str(key))]
    return bool(SECRET_WORDS.intersection(words)) or any(pair == ("api", "key") for pair in itertools.pairwise(words))


@cache
def _public_media_link() -> re.Pattern:
    """Our public media path (`/m/<signed token>`: value:timestamp:signature), slashes and colons written plain or
    percent-encoded."""
    marker = "TOKEN"
    prefix = reverse("messaging:public-media", args=[marker]).removesuffix(marker)
    pattern = "(?:/|%2[Ff])".join(re.escape(part) for part in prefix.split("/"))
    colon = "(?::|%3[Aa])"
    return re.compile(rf"(?P<prefix>{pattern})\.?[\w-]+{colon}[\w-]+{colon}[\w-]+")


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED).replace(quote(secret, safe=""), REDACTED)
    text = _public_media_link().sub(lambda match: match.group("prefix") + REDACTED, text)
    text = HEADER_LINE.sub(
        lambda m: f"{m.group('key')}: {REDACTED}" if is_secret_key(m.group("key")) else m.group(0), text
    )
    return TEXT_PAIR.sub(
        lambda m: f"{m.group('key')}{m.group('sep')}{REDACTED}" if is_secret_key(m.group("key")) else m.group(0),
        text,
    )


def redact_data(value, secrets: tuple[str, ...] = ()):
    """A form or JSON document with every secret key's value replaced, and every string redacted as text."""
    if isinstance(value, dict):
        return {
            key: REDACTED if is_secret_key(key) and item not in ("", None) else redact_data(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(item, secrets) for item in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def redact_url(url: str, secrets: tuple[str, ...] = ()) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:  # user:password@host
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = urlencode(
        [
            (key, REDACTED if is_secret_key(key) and value else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="[]",
    )
    return redact_text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)), secrets)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def body_text(body, *, content_type: str = "", secrets: tuple[str, ...] = ()) -> str:
    """What is stored of a request's or response's body: a form or JSON document as indented JSON, other text as
    it is, binary content as its size and type; redacted in every case."""
    if body is None or body in ("", b""):
        return ""
    if isinstance(body, dict | list | tuple):
        return _json(redact_data(body, secrets))
    if isinstance(body, bytes):
        if content_type and not content_type.startswith(TEXTUAL_TYPES):
            return f"[{len(body)} bytes of {content_type}]"
        body = body[: MAX_READ * 4].decode("utf-8", errors="replace")
    text = str(body)[:MAX_READ]
    try:
        document = json.loads(text)
    except ValueError:
        return redact_text(text, secrets)
    return _json(redact_data(document, secrets)) if isinstance(document, dict | list) else redact_text(text, secrets)


def truncated(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"… [truncated: {len(text)} characters in all]"
    return text[: limit - len(marker)] + marker


# (message id, template id) the exchanges under way concern.
_concerns: ContextVar[tuple] = ContextVar("provider_log_concerns", default=(None, None))


def _pk(value):
    return getattr(value, "pk", value)


@contextmanager
def log_context(*, message=None, template=None) -> Iterator[None]:
    """The message and template (instances or ids) the exchanges made inside this block concern."""
    outer_message, outer_template = _concerns.get()
    token = _concerns.set(
        (
            _pk(message) if message is not None else outer_message,
            _pk(template) if template is not None else outer_template,
        )
    )
    try:
        yield
    finally:
        _concerns.reset(token)


@contextmanager
def log_context_cleared() -> Iterator[None]:
    """Exchanges that concern no stored row (an erased message's deletion at the provider), whatever the caller."""
    token = _concerns.set((None, None))
    try:
        yield
    finally:
        _concerns.reset(token)


@dataclass
class Exchange:
    """What the wrapped code learns about its exchange: the answer, and the credentials it sent."""

    secrets: list[str] = field(default_factory=list)
    status: int | None = None
    response_body: str = ""
    error: str = ""
    _response: tuple | None = None

    def answered(self, *, status: int, body=None, content_type: str = "", url: str = "") -> None:
        """The provider's answer; `url` when it came from another URL than the one asked (after redirects)."""
        self.status = status
        self._response = (body, content_type, url)

    def sending(self, credentials: Callable[[str], tuple[str, str] | None]):
        """`credentials` (a URL's basic-auth pair, or None), remembering each password sent so it is redacted."""

        def remembered(url: str):
            pair = credentials(url)
            if pair:
                self.secrets.append(pair[1])
            return pair

        return remembered


@contextmanager
def exchange_logged(
    *, provider: str, kind: str, method: str, url: str, request_body=None, secrets: tuple[str, ...] = ()
) -> Iterator[Exchange]:
    """Record the exchange made inside the block (also when it raises: a timeout, a refused connection)."""
    exchange = Exchange(secrets=[secret for secret in secrets if secret])
    started = time.monotonic()
    try:
        yield exchange
    except Exception as exc:
        exchange.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        ms = round((time.monotonic() - started) * 1000)
        _store(exchange, provider=provider, kind=kind, method=method, url=url, request_body=request_body, ms=ms)


def _store(exchange: Exchange, *, provider, kind, method, url, request_body, ms: int) -> None:
    secrets = tuple(exchange.secrets)
    response_body = ""
    if exchange._response is not None:
        body, content_type, answered_url = exchange._response
        response_body = body_text(body, content_type=content_type, secrets=secrets)
        if answered_url and answered_url != url:
            response_body = f"Answered by {redact_url(answered_url, secrets)}\n\n{response_body}".rstrip()
    error = exchange.error or (f"HTTP {exchange.status}" if exchange.status and exchange.status >= 400 else "")
    message_id, template_id = _concerns.get()
    limit = ProviderLog.MAX_BODY_LENGTH
    url = truncated(redact_url(url, secrets), ProviderLog.MAX_URL_LENGTH)
    try:
        with transaction.atomic():
            ProviderLog.objects.create(
                provider=provider,
                kind=kind,
                method=method.upper()[:8],
                url=url,
                status_code=exchange.status,
                duration_ms=max(ms, 0),
                error=truncated(redact_text(error, secrets), limit),
                request_body=truncated(body_text(request_body, secrets=secrets), limit),
                response_body=truncated(response_body, limit),
                message_id=message_id,
                template_id=template_id,
            )
    except DatabaseError:
        logger.warning("The %s exchange with %s %s could not be logged", provider, method, url, exc_info=True)
