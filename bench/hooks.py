"""The benchmarks' --subscription: one active subscription to every event, pointing at a fast local receiver
(its own process), with the Procfile's `hooks` worker and `beat` (which runs the dispatcher every 2 s) started
beside the other processes; afterwards, how long the deliveries took to drain and how many arrived."""

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from common import DATABASE_URL, free_port
from stack import ROOT, procfile, start, stop, wait_logged

# What the processes need to send to a receiver on 127.0.0.1 under production settings.
SETTINGS = {"WEBHOOK_HTTPS_ONLY": "false", "OUTBOUND_HTTP_ALLOWED_NETWORKS": "127.0.0.0/8"}

SUBSCRIBE = """
from webhooks.models import Subscription, WebhookEvent
from webhooks.services import subscription_save
subscription_save(subscription=Subscription(name="bench", url="{url}", events=list(WebhookEvent.values)))
"""


class Hooks:
    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs = env, logs
        self.port = free_port()
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self) -> dict[str, int]:
        """The receiver, the subscription, then the hooks worker and beat; their pids by name."""
        receiver = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "webhook_receiver.py"), str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.logs / "receiver.log", "ab"),  # noqa: SIM115 -- closed with the process
            start_new_session=True,
        )
        self.processes["receiver"] = receiver
        code = SUBSCRIBE.format(url=f"http://127.0.0.1:{self.port}/hooks")
        subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=self.env, check=True)
        # beat's schedule file in this run's folder: another benchmark's beat may be using the Procfile's
        beat = re.sub(r"--schedule \S+", f"--schedule {self.logs / 'celerybeat-schedule'}", procfile()["beat"])
        self.processes["hooks"] = start("hooks", self.env, log=self.logs / "hooks.log")
        self.processes["beat"] = start("beat", self.env, command=beat, log=self.logs / "beat.log")
        wait_logged(self.logs / "hooks.log", " ready.")
        wait_logged(self.logs / "beat.log", "Sending due task")
        return {name: process.pid for name, process in self.processes.items()}

    def received(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count", timeout=5) as response:
            return json.load(response)

    @staticmethod
    def state() -> dict:
        with psycopg.connect(DATABASE_URL) as conn:
            newest = conn.execute("SELECT coalesce(max(id), 0) FROM notifications_event").fetchone()[0]
            position = conn.execute("SELECT position FROM webhooks_dispatchcursor").fetchone()[0]
            rows = dict(conn.execute("SELECT status, count(*) FROM webhooks_delivery GROUP BY status").fetchall())
        return {"newest": newest, "position": position, **rows}

    def wait_delivered(self, timeout: float = 900) -> float:
        """When the dispatcher has read every event and no delivery is left to send."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if state["position"] >= state["newest"] and not state.get("pending") and not state.get("retrying"):
                return time.monotonic()
            time.sleep(0.5)
        raise SystemExit(f"the webhook deliveries did not drain in {timeout}s: {self.state()}")

    def report(self, load_ended: float, drained: float, *, after: str = "the load ended") -> str:
        state, received = self.state(), self.received()
        return (
            f"outbound webhooks: {state.get('succeeded', 0):,} delivered, {state.get('failed', 0):,} failed, "
            f"{received['count']:,} received ({received['signed']:,} signed); all sent {drained - load_ended:.1f} s "
            f"after {after}"
        )

    def stop(self) -> None:
        stop(*self.processes.values())
