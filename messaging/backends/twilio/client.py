"""Sending through Twilio's Messages API with the real twilio client."""

import functools
import json
import re
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from messaging.backends.base import OutgoingMessage, RetryableSendError, SendError, SendResult, UnknownOutcomeError
from messaging.backends.httplog import exchange_logged
from messaging.models import Channel, ProviderLog

from .codes import OPTED_OUT_ERROR, RETRYABLE_ERROR_CODES

PROVIDER = "twilio"
# Status codes after which the message was certainly not taken.
RETRYABLE_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})
HTTP_TIMEOUT = 10  # seconds; Twilio answers a create in well under a second
TWILIO_MESSAGE_PREFIX = re.compile(r"^Unable to \w+ record: ")  # the client's words before Twilio's own


def _not_connected(exc: requests.ConnectionError) -> bool:
    """A connection that was never made (refused, DNS, connect timeout): nothing reached Twilio."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )


class _Session(requests.Session):
    """requests reads the environment's proxy and CA settings on every request (it walks every variable twice,
    a fifth of a send's CPU); the environment does not change under a running process, so read them once per
    origin."""

    def __init__(self):
        super().__init__()
        self._environment: dict[tuple[str, str], dict] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies or stream is not None or verify is not None or cert is not None or not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        origin = urlsplit(url)[:2]
        if origin not in self._environment:
            self._environment[origin] = super().merge_environment_settings(url, {}, None, None, None)
        settings = self._environment[origin]
        return {**settings, "proxies": dict(settings["proxies"])}


class LoggedHttpClient(TwilioHttpClient):
    """The twilio client's HTTP client, recording every exchange in the provider log (also one that raises).

    Both our clients use it: the Messages API's and the Content API's. `kind` says what their requests are."""

    def __init__(self, *, kind: str, **kwargs):
        super().__init__(**kwargs)
        session = _Session()
        for prefix, adapter in self.session.adapters.items():  # the twilio client's connection pools
            session.mount(prefix, adapter)
        self.session = session
        self.kind = kind

    def request(
        self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        full_url = requests.Request(method, url, params=params).prepare().url
        with exchange_logged(
            provider=PROVIDER,
            kind=self.kind,
            method=method,
            url=full_url,
            request_body=data,
            secrets=tuple(auth[1:]) if auth else (),
        ) as exchange:
            response = super().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=timeout,
                allow_redirects=allow_redirects,
            )
            exchange.answered(status=response.status_code, body=response.text)
        return response


def client() -> Client:
    """The twilio client on our credentials; TWILIO_API_BASE_URL points it at another server (tests, a stand-in).

    One per process and configuration: its HTTP session keeps the connection to Twilio open from one send to the
    next, where a client per send paid a TCP (and TLS) handshake each time."""
    return _client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL, HTTP_TIMEOUT)


def erase_client() -> Client:
    """The same, its exchanges logged as erasure (deleting messages and media), not as sends."""
    return _client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        HTTP_TIMEOUT,
        ProviderLog.Kind.ERASE,
    )


@functools.lru_cache(maxsize=8)
def _client(account_sid: str, auth_token: str, base_url: str, timeout: float, kind=ProviderLog.Kind.SEND) -> Client:
    http = LoggedHttpClient(kind=kind, timeout=timeout)
    twilio = Client(account_sid, auth_token, http_client=http)
    if base_url:
        twilio.api.base_url = base_url
    return twilio


def message_params(message: OutgoingMessage) -> dict:
    whatsapp = message.channel == Channel.WHATSAPP
    params = {"to": f"whatsapp:{message.to}" if whatsapp else message.to}
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
    else:
        params["from_"] = f"whatsapp:{settings.TWILIO_PHONE_NUMBER}" if whatsapp else settings.TWILIO_PHONE_NUMBER
    if message.content_sid:
        params["content_sid"] = message.content_sid
        if message.content_variables:
            params["content_variables"] = json.dumps(message.content_variables, ensure_ascii=False)
    elif message.body:
        params["body"] = message.body
    if message.media_urls:
        params["media_url"] = list(message.media_urls)
    if settings.PUBLIC_BASE_URL:
        params["status_callback"] = settings.PUBLIC_BASE_URL + reverse("messaging:twilio-webhook")
    return params


def message_create(twilio: Client, message: OutgoingMessage) -> SendResult:
    """One create call; what went wrong says whether the message may have been taken."""
    try:
        created = twilio.messages.create(**message_params(message))
    except TwilioRestException as exc:
        error = (
            RetryableSendError
            if exc.status in RETRYABLE_HTTP_STATUSES or exc.code in RETRYABLE_ERROR_CODES
            else SendError
        )
        raise error(
            TWILIO_MESSAGE_PREFIX.sub("", exc.msg or str(exc)),
            code=exc.code,
            recipient_opted_out=exc.code == OPTED_OUT_ERROR,
        ) from exc
    except requests.ConnectionError as exc:
        if _not_connected(exc):
            raise RetryableSendError(f"Could not connect to Twilio: {exc}") from exc
        raise UnknownOutcomeError(f"The connection to Twilio broke after sending: {exc}") from exc
    except requests.Timeout as exc:
        raise UnknownOutcomeError(f"Twilio did not answer within {HTTP_TIMEOUT} seconds.") from exc
    except TwilioException as exc:
        raise UnknownOutcomeError(f"Unexpected answer from Twilio: {exc}") from exc
    return SendResult(sid=created.sid, status=created.status)
