"""A local receiver of outbound webhooks: records each request (path, headers, body) and answers as told."""

import time
from urllib.parse import urlsplit

from happycrm.tests.local_server import Handler, LocalServer


class ReceiverHandler(Handler):
    protocol_version = "HTTP/1.1"  # keeps the connection open, as receivers do

    def do_POST(self):
        fake = self.server.fake
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.requests.append(
            {"path": path, "headers": dict(self.headers.items()), "body": body, "client": self.client_address}
        )
        if path.startswith("/slow"):
            time.sleep(fake.slow_seconds)
        if path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", f"{fake.base_url}/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/big"):
            return self.reply(200, b"x" * 100_000)
        status = fake.statuses.pop(0) if fake.statuses else (500 if path.startswith("/fail") else 200)
        self.reply(status, b"ok" if status < 300 else b"nope \x00 broken")


class Receiver(LocalServer):
    def __init__(self):
        super().__init__(ReceiverHandler)
        self.requests: list[dict] = []
        self.statuses: list[int] = []  # the next answers' statuses, in order (then 200, or 500 under /fail)
        self.slow_seconds = 2.0

    def url(self, path: str = "/ok") -> str:
        return f"{self.base_url}{path}"
