"""Webhook load benchmark: signed inbound webhooks against a bare view on the same production server.

Starts the production web server (gunicorn, threaded workers) with production settings and
a Celery worker on PostgreSQL + Redis, then sends
N signed inbound webhooks at concurrency C and the same load to /healthz (the ceiling: a
Django view that returns 200 and touches nothing). Reports throughput, p50/p99 latency,
how fast the worker drains the events, and how many messages were lost or duplicated,
then re-delivers a share of the webhooks (as Twilio's retries would) and checks that no
message is stored twice.

    .venv/bin/python bench/webhook_load.py [--requests 5000] [--concurrency 32] [--worker-after]

Needs PostgreSQL and Redis on 127.0.0.1 (as .ci/run starts them); it creates and drops
its own database and uses Redis database 15.
"""

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import psycopg
from common import DATABASE_URL, REDIS_URL, drop_database, free_port, fresh_database
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TOKEN = "bench-auth-token"
ACCOUNT = "AC" + "b" * 32


def environment(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "happycrm.settings.production",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "MESSAGING_BACKEND": "messaging.backends.simulator.SimulatorBackend",
    }


def reset_database(env: dict[str, str]) -> None:
    fresh_database()
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


def payloads(count: int, senders: int) -> list[dict[str, str]]:
    items = []
    for n in range(count):
        sid = f"SM{n:032x}"
        phone = f"+90532{n % senders:07d}"
        items.append(
            {
                "MessageSid": sid,
                "SmsMessageSid": sid,
                "SmsSid": sid,
                "AccountSid": ACCOUNT,
                "From": f"whatsapp:{phone}",
                "To": "whatsapp:+14155238886",
                "Body": f"Merhaba, bu {n}. mesaj",
                "ProfileName": f"Müşteri {n % senders}",
                "WaId": phone.lstrip("+"),
                "NumMedia": "0",
                "NumSegments": "1",
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01",
            }
        )
    return items


async def load(url: str, bodies: list[tuple[str, dict]], concurrency: int, method: str = "POST") -> dict:
    """Send every (body, headers) to url with `concurrency` requests in flight; latency per request in ms."""
    latencies, statuses = [], {}
    queue = list(reversed(bodies))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            while queue:
                body, headers = queue.pop()
                started = time.perf_counter()
                async with session.request(method, url, data=body or None, headers=headers) as response:
                    await response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "max": latencies[-1],
        "statuses": statuses,
    }


def signed(url: str, items: list[dict]) -> list[tuple[str, dict]]:
    validator = RequestValidator(TOKEN)
    content_type = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        (urlencode(item), {**content_type, "X-Twilio-Signature": validator.compute_signature(url, item)})
        for item in items
    ]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not start at {url}")


def counts() -> tuple[int, int, int, int]:
    with psycopg.connect(DATABASE_URL) as conn:
        events, processed = conn.execute("SELECT count(*), count(processed_at) FROM messaging_webhookevent").fetchone()
        messages, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT twilio_message_sid) FROM messaging_message"
        ).fetchone()
    return events, processed, messages, distinct


def wait_drained(expected_events: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, processed, _, _ = counts()
        if processed >= expected_events:
            return time.monotonic()
        time.sleep(0.25)
    raise SystemExit(f"worker did not drain {expected_events} events in {timeout}s: {counts()}")


def report(name: str, result: dict) -> None:
    print(
        f"{name:<10} {result['requests']:>6} req in {result['seconds']:6.2f}s  {result['rps']:7.0f} req/s  "
        f"p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms  max {result['max']:6.1f} ms  {result['statuses']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="web server worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--worker-after", action="store_true", help="start the worker once the load is sent")
    parser.add_argument("--worker-nice", type=int, default=0, help="run the Celery worker at this niceness")
    parser.add_argument("--senders", type=int, default=500, help="distinct phone numbers (new leads)")
    parser.add_argument("--redeliver", type=float, default=0.1, help="share of webhooks delivered again")
    args = parser.parse_args()

    port = free_port()
    env = environment(port)
    base = f"http://127.0.0.1:{port}"
    webhook_url = f"{base}/api/twilio/webhook"
    reset_database(env)
    server_command = [
        PYTHON, "-m", "gunicorn", "happycrm.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers), "--threads", str(args.threads), "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(server_command, cwd=ROOT, env=env, start_new_session=True)
    worker_command = [
        "nice", "-n", str(args.worker_nice), PYTHON, "-m", "celery", "-A", "happycrm", "worker",
        "--loglevel", "WARNING", "--concurrency", str(args.celery_concurrency), "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    workers = []
    if not args.worker_after:
        workers.append(subprocess.Popen(worker_command, cwd=ROOT, env=env, start_new_session=True))
    try:
        wait_for(base)
        items = payloads(args.requests, args.senders)
        bodies = signed(webhook_url, items)
        ceiling_bodies = [("", {}) for _ in range(args.requests)]
        asyncio.run(load(f"{base}/healthz", ceiling_bodies[:200], args.concurrency, "GET"))  # warm up
        print(f"gunicorn workers={args.workers} threads={args.threads}, celery concurrency={args.celery_concurrency} "
              f"(nice {args.worker_nice}), "
              f"{args.requests} requests at concurrency {args.concurrency}, {os.cpu_count()} CPUs")  # fmt: skip

        ceiling = asyncio.run(load(f"{base}/healthz", ceiling_bodies, args.concurrency, "GET"))
        report("ceiling", ceiling)

        started = time.monotonic()
        webhook = asyncio.run(load(webhook_url, bodies, args.concurrency))
        report("webhook", webhook)
        if args.worker_after:
            started = time.monotonic()
            workers.append(subprocess.Popen(worker_command, cwd=ROOT, env=env, start_new_session=True))
        drained = wait_drained(counts()[0])
        events, processed, messages, distinct = counts()
        drain_seconds = drained - started
        print(
            f"drain      {processed} events processed in {drain_seconds:6.2f}s "
            f"({processed / drain_seconds:.0f} events/s)"
        )
        lost = args.requests - distinct
        duplicated = messages - distinct
        print(f"messages   {messages} stored for {args.requests} sent: lost {lost}, duplicated {duplicated}")

        again = random.Random(7).sample(bodies, int(args.requests * args.redeliver))
        redelivery = asyncio.run(load(webhook_url, again, args.concurrency))
        report("redeliver", redelivery)
        wait_drained(counts()[0])
        events, _, messages, distinct = counts()
        duplicated = messages - distinct
        print(f"after      {events} events, {messages} messages ({distinct} distinct SIDs): duplicated {duplicated}")
        print(f"ratio      webhook throughput = {webhook['rps'] / ceiling['rps']:.0%} of the ceiling")
    finally:
        for process in (server, *workers):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (server, *workers):
            process.wait(timeout=30)
        drop_database()


if __name__ == "__main__":
    main()
