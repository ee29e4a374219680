"""A local Twilio Content API (ContentAndApprovals, paged) for the real twilio client."""

import base64
from urllib.parse import parse_qs, urlsplit

from happycrm.tests.local_server import Handler, LocalServer

PAGE_SIZE = 2


class ContentHandler(Handler):
    def do_GET(self):
        fake = self.server.fake
        fake.requests.append(self.path)
        if self.headers.get("Authorization") != fake.expected_auth:
            return self.reply_json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        page = int(parse_qs(urlsplit(self.path).query).get("Page", ["0"])[0])
        chunk = fake.items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        more = (page + 1) * PAGE_SIZE < len(fake.items)
        url = f"{fake.base_url}/v1/ContentAndApprovals"
        meta = {
            "page": page,
            "page_size": PAGE_SIZE,
            "first_page_url": f"{url}?PageSize={PAGE_SIZE}&Page=0",
            "previous_page_url": None,
            "url": f"{url}?PageSize={PAGE_SIZE}&Page={page}",
            "next_page_url": f"{url}?PageSize={PAGE_SIZE}&Page={page + 1}" if more else None,
            "key": "contents",
        }
        self.reply_json(200, {"contents": chunk, "meta": meta})


class FakeContentApi(LocalServer):
    def __init__(self, account_sid: str, auth_token: str):
        super().__init__(ContentHandler)
        self.items: list[dict] = []
        self.requests: list[str] = []
        self.expected_auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()


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
