"""Which address a request came from, the same for every caller (login throttling, logs)."""

import ipaddress

from django.conf import settings


def client_ip_address(request) -> str:
    """REMOTE_ADDR, unless TRUSTED_PROXY_COUNT says that many proxies stand in front of the app.

    Each such proxy appends the address it was reached from to X-Forwarded-For, so the client is the
    TRUSTED_PROXY_COUNT-th entry from the right; anything further left was written by the client and is ignored.
    Without the setting the header is ignored altogether: a client cannot pick the address it is counted under.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
