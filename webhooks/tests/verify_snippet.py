"""The receiver's check of a delivery, exactly as the README documents it (the tests run this copy)."""

import hashlib
import hmac
import time


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """True when the delivery was signed with `secret` within the last `tolerance` seconds."""
    timestamp = headers["X-HappyCRM-Timestamp"]
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, headers["X-HappyCRM-Signature"])
