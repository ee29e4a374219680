"""A local Twilio Messages API for the real twilio client: records each request, answers as told."""

import threading
import time
from urllib.parse import parse_qs

from happycrm.tests.local_server import Handler, LocalServer


class MessagesHandler(Handler):
    def do_POST(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        with fake.lock:
            fake.requests.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "form": {key: values if len(values) > 1 else values[0] for key, values in form.items()},
                }
            )
            reply = fake.replies.pop(0) if fake.replies else ("ok",)
            fake.count += 1
            sid = f"SM{fake.count:032x}"
        if reply[0] == "sleep":
            time.sleep(reply[1])
        elif reply[0] == "error":
            _, status, code, message = reply
            more = f"https://www.twilio.com/docs/errors/{code}"
            return self.reply_json(status, {"code": code, "message": message, "more_info": more, "status": status})
        body = form.get("Body", [""])[0]
        self.reply_json(201, {"sid": sid, "status": "queued", "account_sid": "AC" + "1" * 32, "body": body})


class FakeTwilio(LocalServer):
    def __init__(self):
        super().__init__(MessagesHandler)
        self.requests: list[dict] = []
        self.replies: list[tuple] = []  # consumed in order; ("ok",) once they run out
        self.lock = threading.Lock()
        self.count = 0

    @property
    def forms(self) -> list[dict]:
        return [request["form"] for request in self.requests]
