"""Agent pages benchmark.

1. Webhook-to-screen latency: gunicorn (production settings) and a Celery worker on PostgreSQL +
   Redis; a conversation open in Debian's chromium (Playwright); 50 signed inbound webhooks, one
   at a time; the time from sending each until its bubble is on the screen.
2. Server time of the inbox with 100,000 leads and 1,000,000 messages, and of a conversation
   with 100,000 messages against one with 100 (Django's test client, in-process, PostgreSQL).

    .venv/bin/python bench/chat_load.py [--messages 50] [--leads 100000] [--total 1000000]

Needs PostgreSQL and Redis on 127.0.0.1 and /usr/bin/chromium; creates and drops its own database.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import DATABASE_URL, REDIS_URL, drop_database, free_port, fresh_database  # noqa: E402 -- after the path

TOKEN = "bench-auth-token"
PASSWORD = "bench-password-123"


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def latency(args, env, base):
    import django
    from playwright.sync_api import sync_playwright
    from twilio.request_validator import RequestValidator

    django.setup()
    from django.contrib.auth import get_user_model

    from leads.models import Lead

    get_user_model().objects.create_user(username="bench", password=PASSWORD, is_staff=True, is_superuser=True)
    lead = Lead.objects.create(name="Bench Lead", phone="+905551234567")
    url = f"{base}/api/twilio/webhook"
    validator = RequestValidator(TOKEN)

    def send(n):
        payload = {"MessageSid": f"SM{n:032x}", "From": "whatsapp:+905551234567", "To": "whatsapp:+14155238886",
                   "Body": f"bench message {n}", "SmsStatus": "received", "AccountSid": "AC" + "b" * 32}  # fmt: skip
        headers = {"X-Twilio-Signature": validator.compute_signature(url, payload)}
        with urlopen(Request(url, urlencode(payload).encode(), headers)) as response:  # noqa: S310 -- our server
            assert response.status == 200

    send(0)  # the lead's first message: the conversation exists
    samples = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        page = browser.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "bench")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/inbox/")
        page.goto(f"{base}/inbox/{lead.pk}/")
        page.wait_for_selector("text=bench message 0")
        page.wait_for_timeout(500)
        for n in range(1, args.messages + 1):
            started = time.perf_counter()
            send(n)
            page.wait_for_selector(f"text=bench message {n}", timeout=10_000)
            samples.append((time.perf_counter() - started) * 1000)
        browser.close()
    print(
        f"latency    {len(samples)} webhooks to screen: p50 {statistics.median(samples):.0f} ms, "
        f"p95 {percentile(samples, 0.95):.0f} ms, max {max(samples):.0f} ms"
    )


def server_times(args):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from leads.models import Lead, Stage

    stage = Stage.objects.get(is_default=True)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO leads_lead (id, name, phone, email, stage_id, location, is_unregistered,
                   first_message_answered, unread_count, last_message_at, created_at, updated_at)
               SELECT gen_random_uuid(), 'Müşteri ' || n, '+90532' || lpad(n::text, 7, '0'), '', %s, '', false, false,
                      n %% 3, now() - (n || ' seconds')::interval, now(), now()
               FROM generate_series(1, %s) AS n""",
            [stage.pk, args.leads],
        )
        per_lead = max(1, (args.total - 100_000) // args.leads)
        cursor.execute(
            """INSERT INTO messaging_message (id, lead_id, body, media_url, media_content_type, is_from_lead, is_read,
                   is_starred, is_notification_sent, status, channel, template_name, content_variables, metadata,
                   error_message, needs_attention, created_at, updated_at)
               SELECT gen_random_uuid(), l.id, 'Merhaba, mesaj ' || m, '', '', m %% 2 = 0, true, false, false,
                      'delivered', 'whatsapp', '', '{}', '{}', '', false,
                      l.last_message_at - (m || ' minutes')::interval, now()
               FROM leads_lead l CROSS JOIN generate_series(0, %s) AS m""",
            [per_lead - 1],
        )
        cursor.execute("ANALYZE")
    big = Lead.objects.create(name="Big Thread", phone="+905559999999", stage=stage)
    small = Lead.objects.create(name="Small Thread", phone="+905558888888", stage=stage)
    with connection.cursor() as cursor:
        for lead, count in ((big, 100_000), (small, 100)):
            cursor.execute(
                """INSERT INTO messaging_message (id, lead_id, body, media_url, media_content_type, is_from_lead,
                       is_read, is_starred, is_notification_sent, status, channel, template_name, content_variables,
                       metadata, error_message, needs_attention, created_at, updated_at)
                   SELECT gen_random_uuid(), %s, 'Mesaj ' || m, '', '', m %% 2 = 0, true, false, false, 'read',
                          'whatsapp', '', '{}', '{}', '', false, now() - (m || ' seconds')::interval, now()
                   FROM generate_series(1, %s) AS m""",
                [lead.pk, count],
            )
        cursor.execute("UPDATE leads_lead SET last_message_at = now() WHERE id IN (%s, %s)", [big.pk, small.pk])
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM leads_lead")
        leads = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM messaging_message")
        messages = cursor.fetchone()[0]
    print(f"data       {leads} leads, {messages} messages in {time.monotonic() - started:.0f}s")

    client = Client()
    client.force_login(get_user_model().objects.create_user(username="timer", is_staff=True, is_superuser=True))

    def timed(label, url, params=None, runs=15):
        client.get(url, params or {})  # warm
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, params or {})
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(f"{label:<34} p50 {statistics.median(samples):6.1f} ms  p95 {percentile(samples, 0.95):6.1f} ms")

    timed("inbox, first page", "/inbox/")
    timed("inbox, page 100", "/inbox/", {"page": "100"})
    timed("inbox, unread filter", "/inbox/", {"unread": "1"})
    timed("inbox, search by phone", "/inbox/", {"q": "0532 000 12 34"})
    timed("conversation, 100,000 messages", f"/inbox/{big.pk}/")
    timed("conversation, 100 messages", f"/inbox/{small.pk}/")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--total", type=int, default=1_000_000)
    args = parser.parse_args()

    fresh_database()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "happycrm.settings.production",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "PUBLIC_BASE_URL": base,
        "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "MESSAGING_BACKEND": "messaging.backends.simulator.SimulatorBackend",
        "DJANGO_DB_POOL_SIZE": "20",
    }
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "happycrm.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "16", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "happycrm", "worker", "--loglevel", "WARNING", "--concurrency",
             "2", "--queues", "celery,campaigns", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, start_new_session=True,
        ),
    ]  # fmt: skip
    try:
        time.sleep(3)
        latency(args, env, base)
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        server_times(args)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        from django.db import connections

        connections.close_all()
        drop_database()


if __name__ == "__main__":
    main()
