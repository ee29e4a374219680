"""Error reporting to Sentry, with nothing personal in what is sent.

send_default_pii is off (no user, address or cookies from the SDK itself), frames go without their local variables,
and before_send takes out what the SDK would still carry (or a later version would start to): request bodies,
cookies and query strings, anything under a key that names a person's data (a phone, a message body, a payload),
and every phone number written in any text (an exception's message, a log line, a task's arguments)."""

import re

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

FILTERED = "[Filtered]"
# Keys whose values are a person's data wherever they appear (request data, extra, breadcrumbs, contexts).
PERSONAL_KEYS = [
    "phone", "from", "to", "body", "caption", "payload", "metadata", "profile_name", "profilename", "name", "email",
    "waid", "address", "latitude", "longitude", "original_fields", "content_variables", "media_url", "mediaurl0",
    "db.params", "args", "kwargs", "cookies", "data", "query_string",
]  # fmt: skip
# A phone in any form people write one: +905551234567, 0555 123 45 67, whatsapp:+90 (555) 123-4567.
# Not inside a word, a number or an id (a UUID's last group is twelve digits).
PHONE = re.compile(r"(?<![\w.-])\+?\d[\d\s().-]{6,}\d(?![\w-]|\.\d)")
# Where the key names are a person's data; the SDK's own sections (sdk, modules, runtime) keep theirs.
# Numbers of the SDK's own that look like phones.
SDK_IDS = {"thread.id", "trace_id", "span_id", "parent_span_id", "event_id"}
KEYED_SECTIONS = ("request", "extra", "breadcrumbs", "tags", "spans", "logentry")
REQUEST_KEPT = {"url", "method", "headers", "env"}
HEADERS_DROPPED = {"cookie", "authorization", "x-twilio-signature", "x-forwarded-for", "x-real-ip"}


def scrub_text(value: str) -> str:
    return PHONE.sub("[phone]", value)


def _scrub(value, *, keys: bool):
    """Phones out of every text; with `keys`, the values under PERSONAL_KEYS too."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: FILTERED
            if keys and str(key).lower() in PERSONAL_KEYS
            else item
            if key in SDK_IDS
            else _scrub(item, keys=keys)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, keys=keys) for item in value]
    return value


def before_send(event, hint):
    """Applied to every error and transaction event after the SDK's own scrubber."""
    request = event.get("request")
    if isinstance(request, dict):
        headers = {k: v for k, v in (request.get("headers") or {}).items() if k.lower() not in HEADERS_DROPPED}
        event["request"] = {key: value for key, value in request.items() if key in REQUEST_KEPT}
        event["request"]["headers"] = headers
        if "url" in event["request"]:
            event["request"]["url"] = event["request"]["url"].split("?", 1)[0]
    event.pop("user", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    return {key: _scrub(value, keys=key in KEYED_SECTIONS) for key, value in event.items()}


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float, transport=None) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # send_default_pii stays off (unset: sentry-sdk 2.7x deprecates it for data_collection, which says the same
        # per kind of data and wins over it): no user, cookies, bodies, query strings, frame variables, SQL values
        # or queue payloads.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "denylist", "terms": sorted(HEADERS_DROPPED)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
            "gen_ai": {"inputs": False, "outputs": False},
            "graphql": {"document": False, "variables": False},
        },
        before_send=before_send,
        before_send_transaction=before_send,
        transport=transport,
    )
