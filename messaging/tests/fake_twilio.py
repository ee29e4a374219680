"""A local Twilio Messages API for the real twilio client: records each request, answers as told."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeTwilio:
    def __init__(self):
        self.requests: list[dict] = []
        self.replies: list[tuple] = []  # consumed in order; ("ok",) once they run out
        self._lock = threading.Lock()
        self._count = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                with server._lock:
                    server.requests.append(
                        {
                            "path": self.path,
                            "auth": self.headers.get("Authorization"),
                            "form": {key: values if len(values) > 1 else values[0] for key, values in form.items()},
                        }
                    )
                    reply = server.replies.pop(0) if server.replies else ("ok",)
                    server._count += 1
                    sid = f"SM{server._count:032x}"
                kind = reply[0]
                if kind == "sleep":
                    time.sleep(reply[1])
                    reply = ("ok",)
                if kind == "error":
                    _, status, code, message = reply
                    body = {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    }
                    return self._json(status, body)
                self._json(
                    201,
                    {"sid": sid, "status": "queued", "account_sid": "AC" + "1" * 32, "body": form.get("Body", [""])[0]},
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

    @property
    def forms(self) -> list[dict]:
        return [request["form"] for request in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
