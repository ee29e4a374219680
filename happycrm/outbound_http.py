"""One guard for every outbound HTTP request to an address that came from input (a webhook's URL, a user's link).

`guarded_get` resolves the host name itself, refuses addresses inside our own networks (loopback, private,
link-local, multicast, reserved, unspecified, cloud metadata; IPv4 and IPv6, IPv4-mapped IPv6 included) and
then connects to exactly the address it checked: the name is never looked up a second time, so a DNS answer
that changes between the check and the connection (DNS rebinding) cannot slip through. The Host header, TLS
SNI and the certificate check keep the name. Redirects are followed here, each one checked again by the same
rules and the caller's policy; environment proxies are never used. `GuardedSession.post` sends a body through
the same exchange and never follows a redirect (a POST to where a 3xx points is the receiver's choice, not ours),
over one checked connection per receiver kept for the session, and `url_refusal` applies the same rules to a URL
being saved, before anything is sent to it.

`settings.OUTBOUND_HTTP_ALLOWED_NETWORKS` (CIDRs, empty by default) lets a deployment reach services of its
own (or tests reach 127.0.0.1). Cloud metadata addresses are refused even then.
"""

import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds, per socket operation)
DEFAULT_DEADLINE = 120.0  # seconds for the whole exchange, so a server dribbling bytes cannot hold a worker
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
CHUNK = 64 * 1024

# Instance metadata services (AWS, GCP, Azure, Oracle, Alibaba, AWS over IPv6): never reachable through here.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "192.0.0.192", "100.100.100.200", "fd00:ec2::254")
)

Auth = tuple[str, str] | None
# The caller's policy: given the URL about to be requested and its hop (0 for the first URL, 1 for the first
# redirect...), a human reason to refuse it, or None to go on. The address rules apply whatever it says.
UrlPolicy = Callable[[str, int], str | None]


class OutboundRequestRefused(Exception):
    """Refused by policy (a forbidden address, scheme or URL, too many redirects, too large): permanent."""

    def __init__(self, reason: str, *, url: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.url = url


class OutboundRequestFailed(Exception):
    """The network failed (name not found, refused, timed out, cut off): may pass, worth retrying."""


@dataclass(frozen=True)
class OutboundResponse:
    url: str  # the URL that answered, after redirects
    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _networks(tuple(getattr(settings, "OUTBOUND_HTTP_ALLOWED_NETWORKS", ()) or ()))


def address_refusal(address: str) -> str | None:
    """Why `address` may not be connected to, or None when it is a public address (or explicitly allowed)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            candidates = [ip.ipv4_mapped]
        else:  # 6to4 and Teredo carry an IPv4 address that routers may reach for us
            embedded = [ip.sixtofour, ip.teredo[1] if ip.teredo else None]
            candidates = [address for address in embedded if address is not None] + [ip]
    if any(candidate in METADATA_ADDRESSES for candidate in candidates):
        return f"{address} is a cloud metadata address"
    networks = allowed_networks()
    if any(
        candidate in network for candidate in candidates for network in networks if candidate.version == network.version
    ):
        return None
    for candidate in candidates:
        for label, flag in (
            ("unspecified", candidate.is_unspecified),
            ("loopback", candidate.is_loopback),
            ("link-local", candidate.is_link_local),
            ("multicast", candidate.is_multicast),
            ("reserved", candidate.is_reserved),
            ("private", candidate.is_private),
        ):
            if flag:
                return f"{address} is a {label} address"
        if not candidate.is_global:
            return f"{address} is not a public address"
    return None


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to; all of them must pass, then the first that connects is used."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundRequestFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OutboundRequestFailed(f"cannot resolve {host}: no address")
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise OutboundRequestRefused(f"{host} resolves to {reason}")
    return addresses


def _split(url: str):
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OutboundRequestRefused(f"only http and https URLs are fetched, not {scheme or 'a relative URL'}", url=url)
    if not parts.hostname:
        raise OutboundRequestRefused("the URL has no host", url=url)
    if parts.username or parts.password:
        raise OutboundRequestRefused("credentials inside a URL are not sent", url=url)
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise OutboundRequestRefused(f"invalid port: {exc}", url=url) from exc
    return scheme, parts.hostname.lower(), port, parts


def _pool(scheme: str, address: str, port: int, host: str, timeout: urllib3.Timeout):
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=host,  # SNI and the certificate check use the name, the socket the checked address
        )
    return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"


Pools = dict[tuple[str, str, int], urllib3.HTTPConnectionPool]


def _exchange(
    url: str,
    *,
    headers: dict,
    auth: Auth,
    timeout,
    max_bytes: int,
    deadline: float,
    method: str = "GET",
    body: bytes | None = None,
    truncate: bool = False,
    kept: Pools | None = None,
):
    """One request to the checked address. Past `max_bytes` the response is refused, or with `truncate` cut there
    (the connection is dropped rather than read to its end).

    With `kept` (a GuardedSession's), the connection stays open for the next request to the same scheme, host and
    port, which goes to the address checked when it was opened without looking the name up again."""
    scheme, host, port, parts = _split(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_headers = {"Host": _host_header(host, port, scheme), "Accept-Encoding": "identity", **headers}
    if auth:
        request_headers.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
    connect_timeout, read_timeout = timeout
    request_timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    key = (scheme, host, port)
    pools = [kept.pop(key)] if kept and key in kept else None
    last_error: Exception | None = None
    for pool in pools or (_pool(scheme, address, port, host, request_timeout) for address in _resolve(host, port)):
        try:
            response = pool.urlopen(
                method,
                path,
                body=body,
                headers=request_headers,
                redirect=False,
                retries=False,
                preload_content=False,
                timeout=request_timeout,
            )
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as exc:
            last_error = exc
            pool.close()
            continue
        except urllib3.exceptions.HTTPError as exc:
            pool.close()
            raise OutboundRequestFailed(f"{type(exc).__name__} from {host}: {exc}") from exc
        complete = False
        try:
            if response.status in REDIRECT_STATUSES:
                return response.status, urllib3.HTTPHeaderDict(response.headers), b""
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes and not truncate:
                raise OutboundRequestRefused(f"larger than {max_bytes} bytes ({declared} announced)", url=url)
            content = bytearray()
            for chunk in response.stream(min(CHUNK, max_bytes + 1)):
                content.extend(chunk)
                if len(content) > max_bytes:
                    if truncate:
                        return response.status, urllib3.HTTPHeaderDict(response.headers), bytes(content[:max_bytes])
                    raise OutboundRequestRefused(f"larger than {max_bytes} bytes", url=url)
                if time.monotonic() > deadline:
                    raise OutboundRequestFailed(f"{host} took too long to send the response")
            complete = True
            return response.status, urllib3.HTTPHeaderDict(response.headers), bytes(content)
        except urllib3.exceptions.HTTPError as exc:
            raise OutboundRequestFailed(f"{type(exc).__name__} from {host}: {exc}") from exc
        finally:
            response.release_conn()
            if kept is not None and complete:  # read to its end: the connection can carry the next request
                kept[key] = pool
            else:
                pool.close()
    raise OutboundRequestFailed(f"cannot connect to {host}: {last_error}")


def guarded_get(
    url: str,
    *,
    policy: UrlPolicy | None = None,
    auth_for: Callable[[str], Auth] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
) -> OutboundResponse:
    """GET `url` under the guard's rules and `policy`, following redirects; any status is returned as is.

    `auth_for(url)` gives the basic-auth credentials for each URL requested (None: no credentials), so a
    caller decides per hop where its secrets may go. Raises OutboundRequestRefused (permanent) before any
    request to a refused URL, or OutboundRequestFailed (transient) when the network fails.
    """
    ends_at = time.monotonic() + deadline
    current = url
    for hop in range(max_redirects + 1):
        reason = policy(current, hop) if policy else None
        if reason:
            raise OutboundRequestRefused(reason, url=current)
        status, response_headers, content = _exchange(
            current,
            headers=dict(headers or {}),
            auth=auth_for(current) if auth_for else None,
            timeout=timeout,
            max_bytes=max_bytes,
            deadline=ends_at,
        )
        if status not in REDIRECT_STATUSES:
            return OutboundResponse(url=current, status=status, headers=response_headers, content=content)
        location = response_headers.get("Location", "")
        if not location:
            return OutboundResponse(url=current, status=status, headers=response_headers, content=content)
        current = urljoin(current, location)
    raise OutboundRequestRefused(f"more than {max_redirects} redirects", url=current)


class GuardedSession:
    """Several guarded POSTs in a row, each connection kept open for the next request to the same receiver (scheme,
    host and port): one name lookup, address check and TCP (and TLS) handshake for all of them instead of one each.
    A kept connection goes on to the address checked when it was opened, so a name that resolves elsewhere later
    (DNS rebinding) cannot redirect it; the name is looked up and checked again when the connection is opened anew
    (after the receiver closed it, or a request failed on it) and in the next session. Keep a session short (one
    batch of sends): `with GuardedSession() as session: session.post(...)`."""

    def __init__(self):
        self._kept: Pools = {}

    def __enter__(self) -> "GuardedSession":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for pool in self._kept.values():
            pool.close()
        self._kept.clear()

    def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> OutboundResponse:
        """POST `body` to `url` under the guard's rules, on this session's kept connection to the receiver if it
        has one (else the name resolved and checked now). A redirect is returned as it is, never followed; the
        response is cut after `max_bytes` (what a caller keeps of it).

        Raises OutboundRequestRefused before any request to a refused URL, or OutboundRequestFailed when the
        network fails."""
        status, response_headers, content = _exchange(
            url,
            headers=dict(headers or {}),
            auth=None,
            timeout=timeout,
            max_bytes=max_bytes,
            deadline=time.monotonic() + deadline,
            method="POST",
            body=body,
            truncate=True,
            kept=self._kept,
        )
        return OutboundResponse(url=url, status=status, headers=response_headers, content=content)


def url_refusal(url: str) -> str | None:
    """Why the guard would refuse to send to `url` now (its scheme, host, port, or an address its name resolves
    to), or None. Names are resolved: a name that does not resolve is refused too, with the resolver's words."""
    try:
        _, host, port, _ = _split(url)
        _resolve(host, port)
    except (OutboundRequestRefused, OutboundRequestFailed) as exc:
        return str(exc)
    except ValueError as exc:  # urlsplit's own refusals (an invalid IPv6 literal)
        return f"invalid URL: {exc}"
    return None
