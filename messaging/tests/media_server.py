"""A local stand-in for Twilio's media URLs: basic auth, then a redirect to a storage host that refuses auth."""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from messaging.tests.twilio import ACCOUNT_SID, AUTH_TOKEN

EXPECTED_AUTH = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()


class MediaServer:
    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}
        self.not_found_first: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urlsplit(self.path).path
                auth = self.headers.get("Authorization")
                server.requests.append((self.headers.get("Host", "") + path, auth))
                if path.startswith("/cdn/"):
                    # Like S3 behind Twilio's redirect: a signed URL, and a request carrying auth is refused.
                    name = path.removeprefix("/cdn/")
                    if auth or name not in server.files:
                        return self._reply(400 if auth else 404, b"refused", "text/plain")
                    content, content_type = server.files[name]
                    return self._reply(200, content, content_type)
                if path.startswith("/broken/"):
                    return self._reply(500, b"boom", "text/plain")
                name = path.rsplit("/", 1)[-1]
                if auth != EXPECTED_AUTH:
                    return self._reply(401, b"unauthorized", "text/plain")
                if server.not_found_first.get(name, 0) > 0:
                    server.not_found_first[name] -= 1
                    return self._reply(404, b"not yet", "text/plain")
                self.send_response(307)
                self.send_header("Location", f"http://localhost:{server.port}/cdn/{name}?X-Amz-Signature=abc")
                self.end_headers()

            def _reply(self, status, content, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def media_url(self, name: str, content: bytes, content_type: str = "image/jpeg") -> str:
        self.files[name] = (content, content_type)
        return f"{self.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{'0' * 32}/Media/{name}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
