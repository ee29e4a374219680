"""Team reports benchmark: the dashboard's conversation figures (conversations.selectors.conversation_reports) with
100,000 conversations, as the migrations ship the table and with the indexes its reads could use.

Creates its own PostgreSQL database (production settings, the migrations as shipped), bulk-loads leads and one
episode each with generate_series over the last `--days` days (answered within minutes to hours, a tenth never,
four in five resolved, five agents and nobody), then times the selector in-process: first as shipped (the
baseline), then after each candidate index is built (the gain is each one's ratio to that baseline, in the same
run), and prints each query's plan with all of them.

    .venv/bin/python bench/conversation_reports.py [--conversations 100000] [--days 180] [--runs 25] [--keep]

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

# Each candidate: its name and the statement that builds it (what a conversations migration would add).
CANDIDATES = [
    (
        "opened_at",
        'CREATE INDEX bench_conversation_opened ON conversations_conversation ("opened_at")',
    ),
    (
        "first_response_at, answered only",
        'CREATE INDEX bench_conversation_answered ON conversations_conversation ("first_response_at") '
        'WHERE "first_response_at" IS NOT NULL',
    ),
    (
        "resolved_at, resolved only",
        'CREATE INDEX bench_conversation_resolved ON conversations_conversation ("resolved_at") '
        "WHERE \"status\" = 'resolved'",
    ),
]


def load(args) -> float:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from conversations.models import Conversation
    from leads.models import Lead

    started = time.monotonic()
    agents = [get_user_model().objects.create_user(username=f"agent{n}").pk for n in range(5)]
    agent_array = "ARRAY[" + ",".join(str(pk) for pk in agents) + ", NULL]::integer[]"
    seconds = args.days * 86400
    with connection.cursor() as cursor:
        insert_select(
            cursor,
            Lead,
            {
                "name": "'Müşteri ' || n",
                "search_name": "'musteri ' || n",
                "phone": "'+90532' || lpad(n::text, 7, '0')",
                "stage_id": "(SELECT id FROM leads_stage WHERE is_default)",
            },
            "generate_series(1, %s) AS n",
            [args.conversations],
        )
        cursor.execute("CREATE TEMP TABLE bench_leads AS SELECT row_number() OVER () AS n, id FROM leads_lead")
        cursor.execute("CREATE INDEX ON bench_leads (n)")
        opened = f"now() - ((c::bigint * {seconds}) / {args.conversations} || ' seconds')::interval"
        answered = "CASE WHEN c % 10 = 0 THEN NULL ELSE interval '1 minute' * (1 + (c::bigint * 7919) % 240) END"
        resolved = (
            "CASE WHEN c % 5 = 0 OR c < 500 THEN NULL ELSE interval '1 minute' * (60 + (c::bigint * 104729) % 2880) END"
        )
        insert_select(
            cursor,
            Conversation,
            {
                "lead_id": "(SELECT id FROM bench_leads WHERE bench_leads.n = c)",
                "assignee_id": f"({agent_array})[1 + c % 6]",
                "opened_at": opened,
                "first_response_at": f"({opened}) + ({answered})",
                "status": f"CASE WHEN ({resolved}) IS NULL THEN 'open' ELSE 'resolved' END",
                "resolved_at": f"({opened}) + ({resolved})",
            },
            "generate_series(1, %s) AS c",
            [args.conversations],
        )
        # The newest episodes cannot be resolved in the future.
        cursor.execute(
            "UPDATE conversations_conversation SET status = 'open', resolved_at = NULL WHERE resolved_at > now()"
        )
        cursor.execute("UPDATE conversations_conversation SET first_response_at = NULL WHERE first_response_at > now()")
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def timed(runs: int) -> list[float]:
    from conversations.selectors import conversation_reports

    conversation_reports(days=30)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        conversation_reports(days=30)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def plans() -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conversations.selectors import conversation_reports

    with CaptureQueriesContext(connection) as captured:
        conversation_reports(days=30)
    found = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if "conversations_conversation" not in query["sql"]:
                continue
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + query["sql"])
            found.append("\n".join(row[0] for row in cursor.fetchall()))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=180, help="the episodes opened over this many past days")
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--keep", action="store_true", help="leave the database for EXPLAIN")
    args = parser.parse_args()

    os.environ.update(environment(free_port()))
    fresh_database()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        loaded = load(args)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE opened_at >= now() - interval '30 days'), "
                "count(*) FILTER (WHERE resolved_at >= now() - interval '30 days') FROM conversations_conversation"
            )
            total, month, resolved = cursor.fetchone()
        print(
            f"data      {total:,} conversations ({month:,} opened and {resolved:,} resolved in the last 30 days), "
            f"{loaded:.0f} s to load"
        )
        settle(connection)
        print(f"load average before timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        baseline = timed(args.runs)
        rows = [("as shipped (baseline)", baseline)]
        for name, statement in CANDIDATES:
            with connection.cursor() as cursor:
                cursor.execute(statement)
                cursor.execute("ANALYZE conversations_conversation")
            rows.append((f"+ index on {name}", timed(args.runs)))
        print(f"\n{'conversation_reports(days=30)':<44} {'p50 ms':>8} {'p95 ms':>8} {'vs baseline':>12}")
        for name, samples in rows:
            ratio = statistics.median(samples) / statistics.median(baseline)
            print(f"{name:<44} {statistics.median(samples):8.1f} {percentile(samples, 0.95):8.1f} {ratio:11.2f}x")
        print("\nplans with every candidate index:")
        for plan in plans():
            print(plan, end="\n\n")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
