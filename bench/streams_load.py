"""Live-stream benchmark: 1,000 open agent pages on the stream process, a live message, and the webhook beside them.

Starts the Procfile's `stream` (uvicorn), `web` (gunicorn with gunicorn.conf.py) and `worker` (Celery) processes,
exactly as the Procfile writes them, with production settings on PostgreSQL + Redis. Creates the agents and their
logged-in sessions directly in the session store (not 1,000 logins), then:

1. one open stream, then 1,000 (the baseline and the load): signed inbound webhooks are sent one at a time and
   each is timed until its message has reached every open stream (webhook → web → worker → event → Redis → the
   stream process's one read → 1,000 streams), and from the moment the event was stored (the fan-out alone);
2. the stream process's memory per open stream (its RSS with 1,000 open less its RSS with one);
3. a small load of signed webhooks against the web process (`--webhooks` at `--concurrency`) with no stream open,
   then with the 1,000 open (the worker and the stream process busy fanning each event out): p50 / p99.

    .venv/bin/python bench/streams_load.py [--streams 1000] [--messages 10] [--webhooks 2000] [--concurrency 8]

Needs PostgreSQL and Redis on 127.0.0.1 (as .ci/run starts them); it creates and drops its own database
(`happycrm_bench_streams`) and uses Redis database 14 (BENCH_DB_NAME / BENCH_REDIS_URL pick others). The load
generator shares the machine with every process it measures: on 2 cores its own 1,000 readers cost CPU too.
"""

import argparse
import asyncio
import os
import resource
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

os.environ.setdefault("BENCH_DB_NAME", "happycrm_bench_streams")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

import aiohttp
from common import DATABASE_URL, REDIS_URL, CpuMeter, drop_database, free_port
from stack import ACCOUNT, TOKEN, environment, migrate, procfile, start, stop
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
LOG = Path(tempfile.gettempdir()) / "streams_load.log"


def sessions(count: int) -> list[str]:
    """`count` agents, each logged in: session rows written straight into the session store."""
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.roles import AGENTS

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"agent{n}", password=make_password(None)) for n in range(count)
    )
    Group.objects.get(name=AGENTS).user_set.add(*users)
    store = SessionStore()
    expire = timezone.now() + timezone.timedelta(days=1)
    rows, keys = [], []
    for user in users:
        key = store._get_new_session_key()
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "accounts.backends.CachedPermissionsBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        keys.append(key)
    Session.objects.bulk_create(rows)
    return keys


def status(pid: int, field: str) -> int:
    """A number from /proc/<pid>/status: VmRSS (KiB), Threads."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def event_stored_at(marker: str) -> float:
    import django

    django.setup()
    from notifications.models import Event

    for _ in range(100):
        event = Event.objects.filter(payload__body=marker).first()
        if event is not None:
            return event.created_at.timestamp()
        time.sleep(0.05)
    raise RuntimeError(f"no event for {marker}")


class Streams:
    """Open SSE connections; for each message body, when each stream received it (wall-clock seconds)."""

    def __init__(self, url: str):
        self.url = url
        self.arrivals: dict[str, list[float]] = {}
        self.open = 0
        self.failed: dict[str, int] = {}
        self.tasks: list[asyncio.Task] = []
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None, sock_read=120)
        )

    async def _one(self, key: str, ready: asyncio.Event) -> None:
        try:
            async with self.session.get(self.url, headers={"Cookie": f"sessionid={key}"}) as response:
                if response.status != 200:
                    self.failed[str(response.status)] = self.failed.get(str(response.status), 0) + 1
                    ready.set()
                    return
                self.open += 1
                ready.set()
                # Chunks as they come, searched for the timed messages only: a browser parses what it is sent,
                # but this one process reads 1,000 streams on the servers' cores, so it reads as little as it can.
                tail = b""
                async for chunk in response.content.iter_any():
                    now = time.time()
                    text, start = tail + chunk, 0
                    while (found := text.find(b'"body": "bench ', start)) >= 0:
                        end = text.find(b'"', found + 9)
                        if end < 0:
                            break
                        self.arrivals.setdefault(text[found + 9 : end].decode(), []).append(now)
                        start = end
                    tail = text[start:][-64:]
        except (TimeoutError, aiohttp.ClientError) as error:
            self.failed[type(error).__name__] = self.failed.get(type(error).__name__, 0) + 1
            ready.set()

    async def open_many(self, keys: list[str], concurrency: int = 100) -> float:
        started = time.perf_counter()
        for first in range(0, len(keys), concurrency):
            batch = []
            for key in keys[first : first + concurrency]:
                ready = asyncio.Event()
                self.tasks.append(asyncio.create_task(self._one(key, ready)))
                batch.append(ready.wait())
            await asyncio.gather(*batch)
        await asyncio.sleep(0.5)  # each stream's catch-up read done
        return time.perf_counter() - started

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.session.close()
        self.tasks, self.open = [], 0


def signed(url: str, body: str, n: int) -> tuple[str, dict]:
    sid = f"SM{time.time_ns():016x}{n:016x}"[:34]
    phone = f"+90533{n % 50:07d}"
    item = {
        "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT,
        "From": f"whatsapp:{phone}", "To": "whatsapp:+14155238886", "Body": body, "ProfileName": f"Müşteri {n % 50}",
        "WaId": phone.lstrip("+"), "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }  # fmt: skip
    signature = RequestValidator(TOKEN).compute_signature(url, item)
    return urlencode(item), {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}


async def live_messages(streams: Streams, webhook_url: str, count: int, label: str) -> dict:
    """Webhooks one at a time; per message the time until the last open stream had it, from the POST and from
    the moment the event was stored. Per stream too (every arrival)."""
    all_from_post, all_from_store, last_from_post, last_from_store = [], [], [], []
    async with aiohttp.ClientSession() as client:
        for n in range(count):
            marker = f"bench {label} {n}"
            body, headers = signed(webhook_url, marker, n)
            sent = time.time()
            async with client.post(webhook_url, data=body, headers=headers) as response:
                assert response.status == 200, response.status
            deadline = time.monotonic() + 30
            while len(streams.arrivals.get(marker, ())) < streams.open and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            arrivals = streams.arrivals.get(marker, [])
            if len(arrivals) < streams.open:
                raise SystemExit(f"{marker}: reached {len(arrivals)} of {streams.open} streams in 30 s")
            stored = await asyncio.to_thread(event_stored_at, marker)
            all_from_post += [(t - sent) * 1000 for t in arrivals]
            all_from_store += [(t - stored) * 1000 for t in arrivals]
            last_from_post.append((max(arrivals) - sent) * 1000)
            last_from_store.append((max(arrivals) - stored) * 1000)
            await asyncio.sleep(0.3)
    return {
        "post": summary(all_from_post),
        "store": summary(all_from_store),
        "all_post": summary(last_from_post),
        "all_store": summary(last_from_store),
    }


def summary(values: list[float]) -> dict:
    values = sorted(values)
    return {
        "p50": statistics.median(values),
        "p95": values[max(int(len(values) * 0.95) - 1, 0)],
        "p99": values[max(int(len(values) * 0.99) - 1, 0)],
        "max": values[-1],
    }


async def webhook_load(url: str, count: int, concurrency: int, label: str) -> dict:
    bodies = [signed(url, f"load {label} {n}", n) for n in range(count)]
    latencies, statuses = [], {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as client:

        async def worker():
            while bodies:
                body, headers = bodies.pop()
                started = time.perf_counter()
                async with client.post(url, data=body, headers=headers) as response:
                    await response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {**summary(latencies), "rps": len(latencies) / elapsed, "statuses": statuses}


def drained(timeout: float = 300) -> None:
    """Until the worker is idle: its queue empty and nothing processed for a second (each measure starts so). The
    first requests of a fresh web process may leave an event to the sweep: it is not waited for."""
    import psycopg
    import redis

    queue = redis.Redis.from_url(REDIS_URL)
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        with psycopg.connect(DATABASE_URL) as conn:
            (processed,) = conn.execute("SELECT count(processed_at) FROM messaging_webhookevent").fetchone()
        if processed == last and queue.llen("celery") == 0:
            return
        last = processed
        time.sleep(1)
    raise SystemExit("the worker did not drain")


def wait_port(port: int, path: str = "/healthz", timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


async def run(args, web_port: int, stream_port: int, pids: dict[str, int], keys: list[str]) -> None:
    webhook_url = f"http://127.0.0.1:{web_port}/api/twilio/webhook"
    stream_url = f"http://127.0.0.1:{stream_port}/events/stream"

    stream_pid, meter = pids["stream"], CpuMeter(pids)
    await webhook_load(webhook_url, 100, args.concurrency, "warmup")
    await asyncio.to_thread(drained)  # the worker is up and processing: it works beside both loads
    meter.start()
    without = await webhook_load(webhook_url, args.webhooks, args.concurrency, "without")
    cpu_without = meter.stop()
    await asyncio.to_thread(drained)

    one = Streams(stream_url)
    await one.open_many(keys[:1])
    await asyncio.sleep(1)
    rss_one, threads_one = status(stream_pid, "VmRSS"), status(stream_pid, "Threads")
    baseline = await live_messages(one, webhook_url, args.messages, "one")
    await one.close()

    many = Streams(stream_url)
    await asyncio.to_thread(drained)
    opened_in = await many.open_many(keys[: args.streams])
    await asyncio.sleep(2)
    rss_many, threads_many = status(stream_pid, "VmRSS"), status(stream_pid, "Threads")
    if many.failed:
        print(f"streams that did not open: {many.failed}")
    load = await live_messages(many, webhook_url, args.messages, "many")
    meter.start()
    with_streams = await webhook_load(webhook_url, args.webhooks, args.concurrency, "with")
    cpu_with = meter.stop()
    still_open = many.open
    await many.close()

    def row(name, result):
        return f"| {name} | {result['p50']:.0f} | {result['p95']:.0f} | {result['max']:.0f} |"

    print(f"\nstreams open: {still_open} of {args.streams} (opened in {opened_in:.1f} s, 100 at a time)\n")
    print("| live message, ms | p50 | p95 | max |")
    print("|---|---|---|---|")
    print(row("1 stream: webhook POST → stream", baseline["post"]))
    print(row(f"{args.streams} streams: webhook POST → each stream", load["post"]))
    print(row(f"{args.streams} streams: webhook POST → the last of them", load["all_post"]))
    print(row("1 stream: event stored → stream", baseline["store"]))
    print(row(f"{args.streams} streams: event stored → each stream", load["store"]))
    print(row(f"{args.streams} streams: event stored → the last of them", load["all_store"]))
    per_stream = (rss_many - rss_one) / max(args.streams - 1, 1)
    print(
        f"\nstream process RSS: {rss_one / 1024:.1f} MiB with 1 stream, {rss_many / 1024:.1f} MiB with "
        f"{args.streams}: {per_stream:.1f} KiB per open stream; threads: {threads_one} with 1, {threads_many} with "
        f"{args.streams}"
    )
    print(f"\n| {args.webhooks} signed webhooks at concurrency {args.concurrency} | p50 ms | p99 ms | req/s |")
    print("|---|---|---|---|")
    for name, result in (("no stream open", without), (f"{args.streams} streams open", with_streams)):
        print(f"| {name} | {result['p50']:.1f} | {result['p99']:.1f} | {result['rps']:.0f} |  {result['statuses']}")
    print(f"\np99 with the streams open / without: {with_streams['p99'] / without['p99']:.2f}")
    print("\n| CPU seconds during the webhook load (2 cores) | no stream open | streams open |")
    print("|---|---|---|")
    for name in cpu_with:
        print(f"| {name} | {cpu_without[name]:.2f} | {cpu_with[name]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10, help="live messages timed to every stream")
    parser.add_argument("--webhooks", type=int, default=2000, help="webhooks in each small load")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the children inherit it (compose sets it so)
    if hard < args.streams * 2 + 100:
        raise SystemExit(f"open-file limit {hard}: too low for {args.streams} streams")

    web_port, stream_port = free_port(), free_port()
    env = environment(web_port)  # production settings, the log levels as shipped
    os.environ.update({key: env[key] for key in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "DATABASE_URL")})
    os.environ.update({key: env[key] for key in ("REDIS_URL", "DJANGO_ALLOWED_HOSTS", "DJANGO_SECURE_SSL_REDIRECT")})
    sys.path.insert(0, str(ROOT))
    migrate(env)
    keys = sessions(args.streams)
    print("stream:", shlex.join(["sh", "-c", procfile()["stream"]]), f"PORT={stream_port}")
    print("web:   ", procfile()["web"], f"PORT={web_port}")
    print("worker:", procfile()["worker"])
    print(f"the processes' output: {LOG}")
    LOG.write_text("")
    processes = [
        start("stream", env, port=stream_port, log=LOG),
        start("web", env, port=web_port, log=LOG),
        start("worker", env, log=LOG),
    ]
    try:
        wait_port(web_port)
        wait_port(stream_port)
        pids = {name: process.pid for name, process in zip(("stream", "web", "worker"), processes, strict=True)}
        asyncio.run(run(args, web_port, stream_port, pids, keys))
    finally:
        stop(*processes)
        drop_database()


if __name__ == "__main__":
    main()
