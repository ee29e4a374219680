"""Webhook load benchmark: signed inbound webhooks against the web process as the Procfile starts it, the worker
draining at the same time, against a bare WSGI app on the same gunicorn settings (the ceiling).

Every process is started with its Procfile command (gunicorn with the root gunicorn.conf.py, the Celery worker at
normal priority with its INFO log) under production settings on PostgreSQL + Redis; wrk (a C load generator)
sends pre-signed inbound WhatsApp webhooks, each with its own SID, for --seconds at --connections. Then it waits
for the worker to process every stored event and counts the messages lost and duplicated. Figures are ratios
against the bare app measured in the same run.

    apt-get install wrk   # once
    .venv/bin/python bench/webhook_load.py [--seconds 15] [--connections 32] [--senders 500] [--subscription]

--subscription: one outbound webhook subscription to every event, to a fast local receiver, with the `hooks` worker
and `beat` running (bench/hooks.py): what the outbound webhooks cost the inbound path.

Needs PostgreSQL and Redis on 127.0.0.1; creates and drops its own database, uses Redis database 15.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from common import DATABASE_URL, CpuMeter, drop_database, free_port
from hooks import SETTINGS, Hooks
from stack import ACCOUNT, ROOT, TOKEN, environment, migrate, start, stop, wait_for_port, wait_logged
from twilio.request_validator import RequestValidator

WRK_SCRIPT = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  local tid = wrk.thread:get("tid")
  local items = dofile(args[1] .. "/requests_" .. tid .. ".lua")
  requests = {}
  for i, item in ipairs(items) do
    requests[i] = wrk.format("POST", args[2], {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = item[2],
    }, item[1])
  end
  n = 0
end
function request()
  n = n % #requests + 1
  return requests[n]
end
"""


def payload(n: int, senders: int) -> dict[str, str]:
    sid = f"SM{n:032x}"
    phone = f"+90532{n % senders:07d}"
    return {
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


def write_requests(folder: Path, url: str, *, threads: int, per_thread: int, senders: int) -> None:
    """Each wrk thread's own signed requests (a Lua table), so every request carries a SID of its own."""
    validator = RequestValidator(TOKEN)
    for thread in range(threads):
        lines = ["return {"]
        for i in range(per_thread):
            item = payload(thread * per_thread + i, senders)
            body = urlencode(item)
            lines.append(f"{{[==[{body}]==], [==[{validator.compute_signature(url, item)}]==]}},")
        lines.append("}")
        (folder / f"requests_{thread}.lua").write_text("\n".join(lines))


def wrk(url: str, *, seconds: int, connections: int, threads: int, script: Path | None = None, args=()) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run([*command, "--", *args], capture_output=True, text=True, check=True).stdout
    found = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0,
        "errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output)),
    }
    for percent in ("50", "99"):
        value, unit = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)", output).groups()
        found[f"p{percent}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return found


def counts() -> tuple[int, int, int, int]:
    with psycopg.connect(DATABASE_URL) as conn:
        events, processed = conn.execute("SELECT count(*), count(processed_at) FROM messaging_webhookevent").fetchone()
        messages, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT twilio_message_sid) FROM messaging_message"
        ).fetchone()
    return events, processed, messages, distinct


def wait_drained(timeout: float = 900) -> float:
    """When every stored event has been processed (the store settles first: in-flight requests commit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events, processed, _, _ = counts()
        if processed >= events:
            return time.monotonic()
        time.sleep(0.2)
    raise SystemExit(f"the worker did not drain the events in {timeout}s: {counts()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--senders", type=int, default=500, help="distinct phone numbers (new leads)")
    parser.add_argument("--subscription", action="store_true", help="an outbound webhook subscription to all events")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    port = free_port()
    env = environment(port, **(SETTINGS if args.subscription else {}))
    webhook_path = "/api/twilio/webhook"
    migrate(env)
    logs = Path(tempfile.mkdtemp(prefix="webhook-load-"))
    per_thread = 3000 * args.seconds  # more than a thread sends: no request is sent twice
    write_requests(logs, f"http://127.0.0.1:{port}{webhook_path}", threads=args.threads, per_thread=per_thread,
                   senders=args.senders)  # fmt: skip
    script = logs / "webhooks.lua"
    script.write_text(WRK_SCRIPT)
    base = f"http://127.0.0.1:{port}"
    load = {"seconds": args.seconds, "connections": args.connections, "threads": args.threads}
    print(f"{os.cpu_count()} CPUs; wrk {args.threads} threads, {args.connections} connections, {args.seconds} s each")

    # The ceiling: the bare app on the same gunicorn settings.
    bare = start("web", env, command="gunicorn --pythonpath bench bare_wsgi:application", log=logs / "bare.log")
    try:
        wait_for_port(port)
        wrk(base + "/", seconds=2, connections=args.connections, threads=args.threads)  # warm up
        meter = CpuMeter({"web": bare.pid})
        meter.start()
        ceiling = wrk(base + "/", **load)
        ceiling_cpu = meter.stop()
    finally:
        stop(bare)

    web = start("web", env, log=logs / "web.log")
    worker = start("worker", env, log=logs / "worker.log")
    hooks = Hooks(env, logs) if args.subscription else None
    try:
        hook_pids = hooks.start() if hooks else {}
        wait_for_port(port)
        wait_logged(logs / "worker.log", " ready.")
        meter = CpuMeter({"web": web.pid, "worker": worker.pid, **hook_pids})
        meter.start()
        started = time.monotonic()
        webhook = wrk(base + webhook_path, script=script, args=(str(logs), webhook_path), **load)
        load_ended = time.monotonic()
        webhook_cpu = meter.stop()
        drained = wait_drained()
        events, processed, messages, distinct = counts()
        hooks_line = hooks.report(load_ended, hooks.wait_delivered()) if hooks else ""
    finally:
        stop(web, worker)
        if hooks:
            hooks.stop()
        drop_database()

    answered = webhook["requests"] - webhook["non2xx"]
    rows = [
        ("bare WSGI app (ceiling)", f"{ceiling['rps']:,.0f}/s", "1.00",
         f"{ceiling['p50']:.1f}", f"{ceiling['p99']:.1f}"),
        ("signed webhook, worker draining", f"{webhook['rps']:,.0f}/s", f"{webhook['rps'] / ceiling['rps']:.3f}",
         f"{webhook['p50']:.1f}", f"{webhook['p99']:.1f}"),
    ]  # fmt: skip
    print("\n| | throughput | × ceiling | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        f"\nanswered {answered:,} (non-2xx {webhook['non2xx']}, socket errors {webhook['errors']}); "
        f"{events:,} events stored, all processed {drained - load_ended:.1f} s after the load ended; "
        f"drain {processed / (drained - started):,.0f} events/s over the whole run"
    )
    print(f"messages: {messages:,} stored, {distinct:,} SIDs: lost {max(answered - distinct, 0)}, "
          f"duplicated {messages - distinct}")  # fmt: skip
    if hooks_line:
        print(hooks_line)
    print("\n| CPU per request, µs (2 cores) | bare app | webhook |\n|---|---|---|")
    for name in ("web", "worker", *hook_pids, "load generator", "PostgreSQL, Redis and the rest", "machine"):
        bare_us = ceiling_cpu.get(name, 0) / ceiling["requests"] * 1e6
        print(f"| {name} | {bare_us:,.0f} | {webhook_cpu[name] / webhook['requests'] * 1e6:,.0f} |")
    print(f"machine busy: {ceiling_cpu['machine'] / ceiling_cpu['elapsed']:.2f} and "
          f"{webhook_cpu['machine'] / webhook_cpu['elapsed']:.2f} cores of {os.cpu_count()}")  # fmt: skip
    print(f"logs: {logs}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
