"""A local Twilio Content API (ContentAndApprovals, paged) for the real twilio client."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGE_SIZE = 2


class FakeContentApi:
    def __init__(self, account_sid: str, auth_token: str):
        self.items: list[dict] = []
        self.requests: list[str] = []
        expected = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                if self.headers.get("Authorization") != expected:
                    return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                query = parse_qs(urlsplit(self.path).query)
                page = int(query.get("Page", ["0"])[0])
                chunk = server.items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
                more = (page + 1) * PAGE_SIZE < len(server.items)
                url = f"{server.base_url}/v1/ContentAndApprovals"
                self._json(
                    200,
                    {
                        "contents": chunk,
                        "meta": {
                            "page": page,
                            "page_size": PAGE_SIZE,
                            "first_page_url": f"{url}?PageSize={PAGE_SIZE}&Page=0",
                            "previous_page_url": None,
                            "url": f"{url}?PageSize={PAGE_SIZE}&Page={page}",
                            "next_page_url": f"{url}?PageSize={PAGE_SIZE}&Page={page + 1}" if more else None,
                            "key": "contents",
                        },
                    },
                )

            def _json(self, status, body):
                content = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def content(n: int, name: str, types: dict, approval: dict, **extra) -> dict:
    return {
        "sid": f"HX{n:032x}",
        "account_sid": "AC" + "1" * 32,
        "friendly_name": name,
        "language": "tr",
        "variables": {"1": "Ayşe"},
        "types": types,
        "approval_requests": approval,
        "date_created": "2026-11-01T10:00:00Z",
        "date_updated": "2026-11-02T10:00:00Z",
        "url": f"https://content.twilio.com/v1/Content/HX{n:032x}",
        **extra,
    }
