"""A local Twilio Messages API for the real twilio client: records each request, answers as told."""

import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

from happycrm.tests.local_server import Handler, LocalServer

FAKE_SID_BASE = 0xFA << 120
MESSAGE_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<sid>\w+?)(?P<rest>/Media.*)?\.json$")
MEDIA_PATH = re.compile(r"/Media/(?P<media>\w+)$")


class MessagesHandler(Handler):
    def _record(self, method: str) -> tuple | None:
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(
                {"method": method, "path": self.path, "auth": self.headers.get("Authorization"), "form": {}}
            )
            return fake.delete_replies.pop(0) if method == "DELETE" and fake.delete_replies else None

    def _not_found(self):
        self.reply_json(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})

    def do_GET(self):
        """A message's media list: the media the fake holds for it."""
        self._record("GET")
        match = MESSAGE_PATH.match(urlsplit(self.path).path)
        fake = self.server.fake
        if not match or match["rest"] != "/Media" or match["sid"] not in fake.held:
            return self._not_found()
        uri = urlsplit(self.path).path
        items = [
            {"sid": media, "parent_sid": match["sid"], "account_sid": match["account"], "content_type": "image/jpeg",
             "uri": uri.replace(".json", f"/{media}.json")}
            for media in fake.held[match["sid"]]
        ]  # fmt: skip
        self.reply_json(
            200,
            {"media_list": items, "page": 0, "page_size": 50, "start": 0, "end": max(len(items) - 1, 0),
             "first_page_uri": uri, "next_page_uri": None, "previous_page_uri": None, "uri": uri},
        )  # fmt: skip

    def do_DELETE(self):
        """Deleting a message (and its media with it) or one media of a message it holds; 404 for others."""
        reply = self._record("DELETE")
        if reply and reply[0] == "error":
            _, status, code, message = reply
            return self.reply_json(status, {"code": code, "message": message, "status": status})
        match = MESSAGE_PATH.match(urlsplit(self.path).path)
        fake = self.server.fake
        if not match or match["sid"] not in fake.held:
            return self._not_found()
        with fake.lock:
            if match["rest"]:
                media = MEDIA_PATH.search(match["rest"])
                if not media or media["media"] not in fake.held[match["sid"]]:
                    return self._not_found()
                fake.held[match["sid"]].remove(media["media"])
            else:
                del fake.held[match["sid"]]
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        with fake.lock:
            fake.requests.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "form": {key: values if len(values) > 1 else values[0] for key, values in form.items()},
                }
            )
            reply = fake.replies.pop(0) if fake.replies else ("ok",)
            fake.count += 1
            # Far from the factories' SIDs (SM and a counter from 0), which a test's own messages already hold.
            sid = f"SM{FAKE_SID_BASE + fake.count:032x}"
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
        self.held: dict[str, list[str]] = {}  # the messages it keeps (SID → its media SIDs), which DELETE removes
        self.delete_replies: list[tuple] = []  # ("error", status, code, message) for the next DELETEs
        self.lock = threading.Lock()
        self.count = 0

    @property
    def forms(self) -> list[dict]:
        return [request["form"] for request in self.requests if request["method"] == "POST"]
