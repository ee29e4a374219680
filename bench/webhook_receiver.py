"""A fast receiver of outbound webhooks for the benchmarks' --subscription: answers every POST 200 at once and
counts them (GET /count). Run as its own process: `python bench/webhook_receiver.py PORT`."""

import sys

from aiohttp import web

received = {"count": 0, "signed": 0}


async def hook(request: web.Request) -> web.Response:
    await request.read()
    received["count"] += 1
    if request.headers.get("X-HappyCRM-Signature", "").startswith("sha256="):
        received["signed"] += 1
    return web.Response(text="ok")


async def count(request: web.Request) -> web.Response:
    return web.json_response(received)


def main() -> None:
    app = web.Application()
    app.router.add_get("/count", count)
    app.router.add_post("/{tail:.*}", hook)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
