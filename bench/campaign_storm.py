"""Campaign storm benchmark: a template campaign at WhatsApp's rate while its delivery callbacks pour back in.

Starts the web and worker processes with their Procfile commands (production settings, PostgreSQL + Redis, the
real twilio client pointed at a fake Twilio served here), creates --leads leads and a campaign for all of them at
--mps. The fake Twilio answers every send and then posts Twilio-signed `sent`, `delivered` and `read` callbacks to
the webhook (0.2 s, 1 s and 3 s after the send, as a phone on the network would), and --replies inbound replies
arrive while the campaign runs. It reports the send rate against the configured MPS, the callback backlog
(stored, not yet processed) over time, how long after the last callback every message shows `read`, duplicates,
and the webhook's latency as Twilio sees it during the storm.

    .venv/bin/python bench/campaign_storm.py [--leads 10000] [--mps 80] [--replies 200] [--subscription]

--subscription: one outbound webhook subscription to every event, to a fast local receiver, with the `hooks` worker
and `beat` running (bench/hooks.py): what the outbound webhooks cost the campaign and its callbacks.

Needs PostgreSQL and Redis on 127.0.0.1; creates and drops its own database, uses Redis database 15.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import DATABASE_URL, CpuMeter, drop_database, free_port  # noqa: E402 -- after the path
from hooks import SETTINGS, Hooks  # noqa: E402
from stack import ACCOUNT, TOKEN, environment, migrate, procfile, start, stop, wait_for_port, wait_logged  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

CALLBACKS = [(0.2, "sent"), (1.0, "delivered"), (3.0, "read")]
OUR_WHATSAPP = "whatsapp:+14155238886"


class FakeTwilio:
    """Twilio's Messages API for the real client, and the callbacks Twilio would post back, signed."""

    def __init__(self, webhook_url: str):
        self.webhook_url = webhook_url
        self.validator = RequestValidator(TOKEN)
        self.sends: list[tuple[float, str]] = []  # (time, recipient)
        self.latencies: list[float] = []  # ms of each webhook request, as Twilio would see it
        self.failures = Counter()
        self.last_callback_at = 0.0
        self.count = 0
        self.pending: set[asyncio.Task] = set()

    async def create(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl(await request.text()))
        self.count += 1
        sid = f"SM{self.count:032x}"
        self.sends.append((time.time(), form.get("To", "")))
        for delay, status in CALLBACKS:
            task = asyncio.ensure_future(self.callback(delay, sid, status, form.get("To", "")))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)
        body = {"sid": sid, "status": "queued", "account_sid": ACCOUNT, "to": form.get("To", "")}
        return web.json_response(body, status=201)

    async def post(self, payload: dict) -> None:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(self.webhook_url, payload),
        }
        started = time.perf_counter()
        try:
            async with self.session.post(self.webhook_url, data=urlencode(payload), headers=headers) as response:
                await response.read()
                if response.status != 200:
                    self.failures[f"HTTP {response.status}"] += 1
        except Exception as exc:
            self.failures[type(exc).__name__] += 1
        self.latencies.append((time.perf_counter() - started) * 1000)

    async def callback(self, delay: float, sid: str, status: str, to: str) -> None:
        await asyncio.sleep(delay)
        payload = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": ACCOUNT,
            "From": OUR_WHATSAPP,
            "To": to,
            "ApiVersion": "2010-04-01",
        }
        await self.post(payload)
        self.last_callback_at = time.time()

    async def replies(self, count: int, seconds: float) -> None:
        """Leads answering while the campaign runs."""
        for n in range(count):
            await asyncio.sleep(seconds / max(count, 1))
            sid = f"SMr{n:031x}"
            phone = f"+90532{n:07d}"
            payload = {
                "MessageSid": sid,
                "SmsSid": sid,
                "AccountSid": ACCOUNT,
                "From": f"whatsapp:{phone}",
                "To": OUR_WHATSAPP,
                "Body": f"Teşekkürler, {n}",
                "NumMedia": "0",
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01",
            }
            await self.post(payload)

    async def serve(self, port: int, ready: threading.Event, stop_event: asyncio.Event) -> None:
        self.session = ClientSession(connector=TCPConnector(limit=64), timeout=ClientTimeout(total=30))
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self.create)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await stop_event.wait()
        await asyncio.gather(*self.pending, return_exceptions=True)
        await self.session.close()
        await runner.cleanup()


def sample(conn) -> dict:
    backlog = conn.execute("SELECT count(*) FROM messaging_webhookevent WHERE processed_at IS NULL").fetchone()[0]
    statuses = dict(
        conn.execute("SELECT status, count(*) FROM messaging_message WHERE bulk GROUP BY status").fetchall()
    )
    return {"at": time.time(), "backlog": backlog, "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--mps", type=float, default=80.0)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--subscription", action="store_true", help="an outbound webhook subscription to all events")
    args = parser.parse_args()

    import psycopg

    web_port, twilio_port = free_port(), free_port()
    webhook_url = f"http://127.0.0.1:{web_port}/api/twilio/webhook"
    env = environment(
        web_port,
        MESSAGING_BACKEND="messaging.backends.twilio.TwilioBackend",
        TWILIO_API_BASE_URL=f"http://127.0.0.1:{twilio_port}",
        TWILIO_PHONE_NUMBER="+14155238886",
        TWILIO_WHATSAPP_MPS=str(args.mps),
        **(SETTINGS if args.subscription else {}),
    )
    migrate(env)
    os.environ.update(env)
    import django

    django.setup()
    from campaigns.services import campaign_create
    from leads.models import Lead, Stage
    from templates_app.models import Template

    stage = Stage.objects.create(name="Storm", position=99)
    Lead.objects.bulk_create(
        (Lead(name=f"Müşteri {n}", phone=f"+90532{n:07d}", stage=stage) for n in range(args.leads)), batch_size=2000
    )
    template = Template.objects.create(
        name="storm", content="Merhaba {{1}}, kış kampanyamız başladı.", content_sid="HX" + "c" * 32,
        approval_status=Template.ApprovalStatus.APPROVED,
    )  # fmt: skip

    fake = FakeTwilio(webhook_url)
    loop = asyncio.new_event_loop()
    ready, stop_event = threading.Event(), asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(fake.serve(twilio_port, ready, stop_event),), daemon=True
    )
    thread.start()
    ready.wait(10)
    logs = Path(tempfile.mkdtemp(prefix="campaign-storm-"))
    web_process = start("web", env, log=logs / "web.log")
    worker = start("worker", env, log=logs / "worker.log")
    bulk = start("bulk", env, log=logs / "bulk.log") if "bulk" in procfile() else None
    hooks = Hooks(env, logs) if args.subscription else None
    samples = []
    hooks_line = ""
    try:
        hook_pids = hooks.start() if hooks else {}
        wait_for_port(web_port)
        for name in ("worker", "bulk") if bulk else ("worker",):
            wait_logged(logs / f"{name}.log", " ready.")
        expected = args.leads / args.mps
        asyncio.run_coroutine_threadsafe(fake.replies(args.replies, expected), loop)
        pids = {"web": web_process.pid, "worker": worker.pid, **({"bulk": bulk.pid} if bulk else {}), **hook_pids}
        meter, cpu = CpuMeter(pids), None
        meter.start()
        started = time.time()
        campaign_create(name="Storm", template=template, stage=stage)
        deadline = started + expected * 3 + 120
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            while time.time() < deadline:
                samples.append(sample(conn))
                if cpu is None and len(fake.sends) >= args.leads:
                    cpu = meter.stop()  # while the campaign was sending
                read = samples[-1]["statuses"].get("read", 0)
                if read >= args.leads and samples[-1]["backlog"] == 0:
                    break
                time.sleep(1)
            all_read_at = time.time()
            duplicates = conn.execute(
                "SELECT count(*) - count(DISTINCT lead_id) FROM messaging_message WHERE bulk"
            ).fetchone()[0]
            not_read = conn.execute("SELECT count(*) FROM messaging_message WHERE bulk AND status <> 'read'").fetchone()
        if hooks:
            settled = time.monotonic()
            hooks_line = hooks.report(settled, hooks.wait_delivered(), after="every message showed read")
    finally:
        loop.call_soon_threadsafe(stop_event.set)
        thread.join(30)
        stop(web_process, worker, *([bulk] if bulk else []))
        if hooks:
            hooks.stop()
        from django.db import connections

        connections.close_all()
        drop_database()

    stamps = sorted(stamp for stamp, _ in fake.sends)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0
    rate = (len(stamps) - 1) / span if span else 0
    per_second = Counter(int(stamp) for stamp in stamps)
    busiest = max(per_second.values()) if per_second else 0
    recipients = Counter(to for _, to in fake.sends)
    latencies = sorted(fake.latencies)
    backlog_max = max((s["backlog"] for s in samples), default=0)
    after_last = all_read_at - fake.last_callback_at
    print(f"{os.cpu_count()} CPUs; {args.leads:,} recipients at {args.mps:g} MPS, {args.replies} replies, logs: {logs}")
    print("\n| figure | measured | target | × target |\n|---|---|---|---|")
    print(f"| send rate | {rate:.1f} msg/s (busiest second {busiest}) | ≥ {0.9 * args.mps:g}, ≤ {args.mps:g} | "
          f"{rate / args.mps:.2f} × MPS |")  # fmt: skip
    print(f"| callback backlog, max | {backlog_max:,} events | | |")
    print(f"| last callback → all read | {after_last:.1f} s | < 10 s | {after_last / 10:.2f} |")
    if latencies:
        p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]
        print(f"| webhook p50 / p99 during the storm | {p50:.0f} / {p99:.0f} ms | p99 < 1,000 ms | {p99 / 1000:.2f} |")
    print(f"| duplicates (sends to one recipient, messages per lead) | "
          f"{sum(n - 1 for n in recipients.values())}, {duplicates} | 0 | |")  # fmt: skip
    print(f"| messages not `read` at the end | {not_read[0]} | 0 | |")
    print(f"| webhook requests that failed | {dict(fake.failures) or 0} | 0 | |")
    if hooks_line:
        print(f"\n{hooks_line}")
    print("\nbacklog over time (s after the start: events waiting):")
    print(", ".join(f"{s['at'] - started:.0f}: {s['backlog']}" for s in samples[:: max(len(samples) // 20, 1)]))
    if cpu:
        print(f"\nCPU seconds while the campaign was sending ({cpu.pop('elapsed'):.0f} s, 2 cores):")
        print(", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items()))
    (logs / "samples.json").write_text(json.dumps(samples))


if __name__ == "__main__":
    main()
