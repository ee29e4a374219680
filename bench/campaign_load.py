"""Campaign benchmark: a 10,000-lead template campaign through a real worker to a local fake Twilio.

Starts a Celery worker (production settings, PostgreSQL + Redis, the real twilio client pointed
at a fake Twilio served here over HTTP, TWILIO_WHATSAPP_MPS=50), creates the leads and a
campaign for them, and reports how long queueing every recipient took, the send rate Twilio
saw against the configured MPS (overall and the busiest second), and duplicates.

    .venv/bin/python bench/campaign_load.py [--leads 10000] [--mps 50] [--concurrency 2]

Needs PostgreSQL and Redis on 127.0.0.1; creates and drops its own database, uses Redis db 15.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import DATABASE_URL, REDIS_URL, drop_database, fresh_database  # noqa: E402 -- after the path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--mps", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    args = parser.parse_args()

    from messaging.backends.twilio.tests.fake_server import FakeTwilio

    fresh_database()

    fake = FakeTwilio()
    fake.thread.start()
    stamps: list[float] = []
    original = fake.httpd.RequestHandlerClass.do_POST

    def timed(handler):
        stamps.append(time.time())
        original(handler)

    fake.httpd.RequestHandlerClass.do_POST = timed

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "happycrm.settings.production",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
        "TWILIO_AUTH_TOKEN": "bench-auth-token",
        "TWILIO_PHONE_NUMBER": "+14155238886",
        "TWILIO_API_BASE_URL": fake.base_url,
        "MESSAGING_BACKEND": "messaging.backends.twilio.TwilioBackend",
        "TWILIO_WHATSAPP_MPS": str(args.mps),
    }
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "happycrm", "worker", "--loglevel", "WARNING", "--concurrency",
         str(args.concurrency), "--queues", "celery,campaigns", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        import django

        django.setup()
        from campaigns.models import CampaignRecipient
        from campaigns.services import campaign_create
        from leads.models import Lead, Stage
        from messaging.models import Message
        from templates_app.models import Template

        stage = Stage.objects.create(name="Bench", position=99)
        Lead.objects.bulk_create(
            (Lead(name=f"Müşteri {n}", phone=f"+90532{n:07d}", stage=stage) for n in range(args.leads)),
            batch_size=2000,
        )
        template = Template.objects.create(
            name="bench", content="Merhaba {{1}}, kış kampanyamız başladı.", content_sid="HX" + "c" * 32,
            approval_status=Template.ApprovalStatus.APPROVED,
        )  # fmt: skip
        time.sleep(3)  # the worker connects

        started = time.monotonic()
        campaign = campaign_create(name="Bench", template=template, stage=stage)
        while CampaignRecipient.objects.filter(campaign=campaign, outcome="pending").exists():
            time.sleep(0.1)
        queued = time.monotonic() - started
        print(f"queued     {args.leads} recipients in {queued:.2f}s ({args.leads / queued:.0f}/s)")

        deadline = time.monotonic() + args.leads / args.mps * 1.5 + 60
        while len(stamps) < args.leads and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # anything sent twice would arrive now
        seconds = Counter(int(stamp) for stamp in stamps)
        steady = sorted(seconds.items())[1:-1]  # whole seconds only
        span = stamps[-1] - stamps[0]
        print(
            f"sent       {len(stamps)} requests in {span:.1f}s: {len(stamps) / span:.1f} msg/s against {args.mps:g} MPS"
        )
        print(f"busiest    second: {max(seconds.values())} messages; steady seconds below 90% of MPS: "
              f"{sum(1 for _, n in steady if n < 0.9 * args.mps)} of {len(steady)}")  # fmt: skip
        recipients = Counter(form["To"] for form in fake.forms)
        print(f"duplicates {sum(n - 1 for n in recipients.values())} (distinct recipients {len(recipients)})")
        print(f"messages   {Message.objects.exclude(twilio_message_sid=None).count()} with a Twilio SID stored")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        fake.httpd.shutdown()
        from django.db import connections

        connections.close_all()
        drop_database()


if __name__ == "__main__":
    main()
