"""Dashboard benchmark: the admin index's server time with 100,000 leads and 1,000,000 messages.

Creates its own PostgreSQL database (production settings, the migrations as shipped, Redis as the cache),
bulk-loads the data with generate_series (a minute or two): leads over five stages, messages over the last
`--days` days (inbound and outbound, statuses as a month of sends leaves them, 2% failed with real error
codes), processed, unprocessed and rejected webhook events, campaigns with their recipients and a month of
hourly retention runs. Then it times, in-process through Django's test client, the index with the dashboard
against the same page without it (a staff user without the dashboard's permissions gets Django's list alone:
the baseline, measured in the same run), and each app's selector on its own.

    .venv/bin/python bench/dashboard.py [--leads 100000] [--messages 1000000] [--days 180] [--runs 15] [--keep]
    .venv/bin/python bench/dashboard.py --reuse   # time again against the database a --keep run left

BENCH_DB_NAME and BENCH_REDIS_URL choose another database and Redis database (two benchmarks at once).
Needs PostgreSQL and Redis on 127.0.0.1; drops its database at the end.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import drop_database, free_port, fresh_database, settle  # noqa: E402 -- after the path
from inbox_load import insert_select, percentile  # noqa: E402
from stack import environment  # noqa: E402


def load(args) -> float:
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignRecipient
    from leads.models import Lead, Stage
    from messaging.models import Message, WebhookEvent
    from retention.models import PruneRun
    from templates_app.models import Template

    started = time.monotonic()
    stages = list(Stage.objects.order_by("position").values_list("pk", flat=True))
    while len(stages) < 5:
        stages.append(Stage.objects.create(name=f"Aşama {len(stages)}", position=len(stages)).pk)
    stage_array = "ARRAY[" + ",".join(f"'{pk}'::uuid" for pk in stages) + "]"
    seconds = args.days * 86400
    with connection.cursor() as cursor:
        insert_select(
            cursor,
            Lead,
            {
                "name": "'Müşteri ' || n",
                "search_name": "'musteri ' || n",
                "phone": "'+90532' || lpad(n::text, 7, '0')",
                "stage_id": f"({stage_array})[1 + n % {len(stages)}]",
                "unread_count": "CASE WHEN n % 7 = 0 THEN 1 + n % 3 ELSE 0 END",
                "last_inbound_at": f"now() - ((n * 7919) % {seconds} || ' seconds')::interval",
                "last_message_at": f"now() - ((n * 7919) % {seconds} || ' seconds')::interval",
            },
            "generate_series(1, %s) AS n",
            [args.leads],
        )
        cursor.execute("CREATE TEMP TABLE bench_leads AS SELECT row_number() OVER () AS n, id FROM leads_lead")
        cursor.execute("CREATE INDEX ON bench_leads (n)")
        statuses = "ARRAY['read','read','read','delivered','delivered','sent','read','delivered','read','queued']"
        insert_select(
            cursor,
            Message,
            {
                "lead_id": f"(SELECT id FROM bench_leads WHERE bench_leads.n = 1 + m % {args.leads})",  # noqa: S608
                "body": "'Merhaba, fiyat alabilir miyim? ' || m",
                "search_body": "'merhaba, fiyat alabilir miyim? ' || m",
                "is_from_lead": "m % 5 < 2",
                "is_read": "true",
                "status": f"CASE WHEN m % 5 < 2 THEN 'received' WHEN m % 50 = 3 THEN 'undelivered' "
                f"WHEN m % 50 = 4 THEN 'failed' ELSE ({statuses})[1 + m % 10] END",
                "error_code": "CASE WHEN m % 50 = 3 THEN 30003 WHEN m % 50 = 4 THEN 63016 ELSE NULL END",
                "provider": "'twilio'",
                "twilio_message_sid": "'SM' || lpad(to_hex(m), 32, '0')",
                "send_claimed_at": "now()",
                "created_at": (f"now() - ((m::bigint * {seconds}) / %s || ' seconds')::interval", [args.messages]),
            },
            "generate_series(1, %s) AS m",
            [args.messages],
        )
        insert_select(
            cursor,
            WebhookEvent,
            {
                "provider": "'twilio'",
                "kind": "'status'",
                "payload": "'{}'::jsonb",
                "message_sid": "'SM' || lpad(to_hex(e), 32, '0')",
                "signature_valid": "true",
                "received_at": (
                    f"now() - ((e::bigint * {30 * 86400}) / %s || ' seconds')::interval",
                    [args.webhook_events],
                ),
                "processed_at": "CASE WHEN e % 20000 = 7 THEN NULL ELSE now() END",
                "outcome": "CASE WHEN e % 20000 = 7 THEN '' WHEN e % 1000 = 1 THEN 'rejected' "
                "ELSE 'status_applied' END",
            },
            "generate_series(1, %s) AS e",
            [args.webhook_events],
        )
    template = Template.objects.create(name="bench", content="Merhaba {{1}}")
    now = timezone.now()
    for n in range(args.campaigns):
        campaign = Campaign.objects.create(name=f"Kampanya {n}", template=template, status="done", started_at=now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {CampaignRecipient._meta.db_table} (campaign_id, lead_id, message_id, outcome, reason)
                    SELECT %s, m.lead_id, m.id, 'queued', '' FROM messaging_message m
                    WHERE NOT m.is_from_lead ORDER BY m.created_at DESC OFFSET %s LIMIT %s
                    ON CONFLICT DO NOTHING""",  # noqa: S608 -- the model's own table name
                [campaign.pk, n * args.recipients, args.recipients],
            )
    with connection.cursor() as cursor:  # a campaign's messages are queued in bulk (messages_queue_bulk)
        cursor.execute(
            "UPDATE messaging_message SET bulk = true WHERE id IN "  # noqa: S608 -- the model's own table name
            f"(SELECT message_id FROM {CampaignRecipient._meta.db_table})"
        )
    PruneRun.objects.bulk_create(
        PruneRun(
            started_at=now - timezone.timedelta(hours=h),
            finished_at=now,
            results={k: {"days": 7, "deleted": 100, "error": ""} for k in ("webhook_events", "notification_events")},
        )
        for h in range(24 * 30)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def timed_pair(first, second, url, runs) -> tuple[list[float], list[float]]:
    """Both clients' requests alternated, so a neighbour's burst on the shared CPU lands on both alike."""
    samples = ([], [])
    for client in (first, second):
        client.get(url)  # warm
    for _ in range(runs):
        for client, into in zip((first, second), samples, strict=True):
            started = time.perf_counter()
            response = client.get(url)
            into.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return samples


def selector_times(runs) -> list[tuple[str, list[float]]]:
    from django.utils import timezone

    from campaigns.selectors import campaigns_outcomes
    from leads.selectors import leads_by_stage
    from messaging.selectors import WHATSAPP_WINDOW, message_failures_by_code, messages_by_day, webhook_health
    from retention.selectors import retention_summary

    calls = [
        ("leads.leads_by_stage", lambda: leads_by_stage(open_since=timezone.now() - WHATSAPP_WINDOW)),
        ("messaging.messages_by_day (30 days)", lambda: messages_by_day(days=30)),
        ("messaging.message_failures_by_code", lambda: message_failures_by_code(days=30)),
        ("messaging.webhook_health", lambda: webhook_health(days=7)),
        ("campaigns.campaigns_outcomes", lambda: campaigns_outcomes(days=30)),
        ("retention.retention_summary", lambda: retention_summary(days=30)),
    ]
    results = []
    for name, call in calls:
        call()
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        results.append((name, samples))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180, help="the messages spread over this many past days")
    parser.add_argument("--webhook-events", type=int, default=300_000, help="received over the last 30 days")
    parser.add_argument("--campaigns", type=int, default=5)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--keep", action="store_true", help="leave the database for --reuse or EXPLAIN")
    parser.add_argument("--reuse", action="store_true", help="time against the database a --keep run left")
    args = parser.parse_args()

    # The production settings as the other benchmarks start them (their secrets included, log levels as shipped),
    # for Django's test client.
    os.environ.update(environment(free_port(), DJANGO_ALLOWED_HOSTS="testserver"))
    os.environ.pop("DJANGO_LOG_LEVEL", None)
    if not args.reuse:
        fresh_database()
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        call_command("collectstatic", interactive=False, verbosity=0)  # the manifest production settings read
        call_command("migrate", verbosity=0)
        loaded = 0.0 if args.reuse else load(args)
        with connection.cursor() as cursor:
            cursor.execute("SELECT (SELECT count(*) FROM leads_lead), (SELECT count(*) FROM messaging_message)")
            leads, messages = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM messaging_message WHERE created_at >= now() - interval '30 days'")
            month = cursor.fetchone()[0]
        print(
            f"data      {leads:,} leads, {messages:,} messages ({month:,} in the last 30 days), {loaded:.0f} s to load"
        )

        User = get_user_model()
        dashboard, baseline = Client(), Client()
        User.objects.filter(username__in=["boss", "clerk"]).delete()
        dashboard.force_login(User.objects.create_user(username="boss", is_staff=True, is_superuser=True))
        baseline.force_login(User.objects.create_user(username="clerk", is_staff=True))  # the list alone
        settle(connection)
        load_average = os.getloadavg()[0]
        with_figures, without = timed_pair(dashboard, baseline, "/admin/", args.runs)
        assert (
            b"dash-chart" in dashboard.get("/admin/").content and b"dash-chart" not in baseline.get("/admin/").content
        )

        rows = [
            ("admin index with the dashboard", with_figures),
            ("admin index without it (baseline)", without),
            *selector_times(args.runs),
        ]
        print(f"load average before timing: {load_average:.2f} on {os.cpu_count()} CPUs")
        print(f"\n{'measure':<40} {'p50 ms':>8} {'p95 ms':>8}")
        for name, samples in rows:
            print(f"{name:<40} {statistics.median(samples):8.1f} {percentile(samples, 0.95):8.1f}")
        cost = statistics.median(with_figures) - statistics.median(without)
        ratio = statistics.median(with_figures) / statistics.median(without)
        print(f"\nthe dashboard's own cost: {cost:.1f} ms (p50), {ratio:.1f}x the bare index")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
