"""A local stand-in for Twilio's media URLs: basic auth, then a redirect to a storage host that refuses auth.

It listens on 127.0.0.1 and redirects to `localhost`, another host name: tests allow loopback through
OUTBOUND_HTTP_ALLOWED_NETWORKS, which nothing else does.
"""

import base64
from urllib.parse import urlsplit

from happycrm.tests.local_server import Handler, LocalServer
from messaging.backends.twilio.tests.payloads import ACCOUNT_SID, AUTH_TOKEN

EXPECTED_AUTH = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()


class MediaHandler(Handler):
    def do_GET(self):
        fake = self.server.fake
        path = urlsplit(self.path).path
        auth = self.headers.get("Authorization")
        fake.requests.append((self.headers.get("Host", "") + path, auth))
        if path.startswith("/cdn/"):
            # Like S3 behind Twilio's redirect: a signed URL, and a request carrying auth is refused.
            name = path.removeprefix("/cdn/")
            if auth or name not in fake.files:
                return self.reply(400 if auth else 404, b"refused")
            content, content_type = fake.files[name]
            return self.reply(200, content, content_type)
        if path.startswith("/broken/"):
            return self.reply(500, b"boom")
        name = path.rsplit("/", 1)[-1]
        if auth != EXPECTED_AUTH:
            return self.reply(401, b"unauthorized")
        if fake.not_found_first.get(name, 0) > 0:
            fake.not_found_first[name] -= 1
            return self.reply(404, b"not yet")
        self.send_response(307)
        location = fake.redirects.get(name, f"http://localhost:{fake.port}/cdn/{name}?X-Amz-Signature=abc")
        self.send_header("Location", location)
        self.end_headers()


class MediaServer(LocalServer):
    def __init__(self):
        super().__init__(MediaHandler)
        self.files: dict[str, tuple[bytes, str]] = {}
        self.not_found_first: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.redirects: dict[str, str] = {}  # name -> where Twilio's URL redirects instead of the local /cdn/

    def media_url(self, name: str, content: bytes, content_type: str = "image/jpeg") -> str:
        self.files[name] = (content, content_type)
        return f"{self.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{'0' * 32}/Media/{name}"
