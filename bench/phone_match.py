"""Phone lookup at 1,000,000 leads: the lead a message comes from, against the seed's algorithm.

The project's `lead_find_by_phone` (what processing an inbound message calls) and its bulk form, timed in-process
on PostgreSQL under the production settings, against the seed's algorithm run on the same table in the same run:
an exact match on the number's written variants (`phone IN (…)`), then `phone LIKE '%<last 10 digits>'`.

    .venv/bin/python bench/phone_match.py [--leads 1000000] [--runs 2000] [--keep]

Cases: a known number (a random lead's), an unknown number, a number stored with another country code (found by
its last 10 digits) and one whose last 10 digits two leads share. BENCH_DB_NAME picks another database
(default `happycrm_bench_phone`); `--keep` leaves it for the next run, which then skips loading it.

Needs PostgreSQL on 127.0.0.1; creates (and unless --keep, drops) its own database.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB_NAME", "happycrm_bench_phone")  # not the other benchmarks' database

import psycopg  # noqa: E402 -- after the path
from common import DATABASE_URL, DB_NAME, PG, drop_database, fresh_database  # noqa: E402
from inbox_load import insert_select  # noqa: E402

FALLBACK_LEADS = 1_000  # stored as +49 533…: a Turkish +90 533… message finds them by the last 10 digits
SHARED_LEADS = 1_000  # +44 534… and +49 534…: two leads share the last 10 digits of +90 534…


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def load(leads: int) -> None:
    from django.db import connection

    from leads.models import Lead, Stage

    stage = Stage.objects.get(is_default=True)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE leads_lead SET (autovacuum_enabled = false)")
        for phone, count in (
            ("'+90532' || lpad(n::text, 7, '0')", leads - FALLBACK_LEADS - 2 * SHARED_LEADS),
            ("'+49533' || lpad(n::text, 7, '0')", FALLBACK_LEADS),
            ("'+44534' || lpad(n::text, 7, '0')", SHARED_LEADS),
            ("'+49534' || lpad(n::text, 7, '0')", SHARED_LEADS),
        ):
            insert_select(
                cursor,
                Lead,
                {
                    "name": "'Müşteri ' || n",
                    "search_name": "'musteri ' || n",
                    "phone": phone,
                    "stage_id": ("%s", [stage.pk]),
                    # a third never wrote; the others at spread times
                    "last_message_at": "CASE WHEN n % 3 = 0 THEN NULL ELSE now() - random() * interval '100 days' END",
                    "created_at": "now() - random() * interval '1000 days'",
                },
                "generate_series(1, %s) AS n",
                [count],
            )
        cursor.execute("ALTER TABLE leads_lead RESET (autovacuum_enabled)")
        cursor.execute("VACUUM ANALYZE leads_lead")
    print(f"data       {Lead.objects.count():,} leads loaded in {time.monotonic() - started:.0f}s")


# The seed's findLeadByPhone (lib/utils/phone-matcher.ts): its phone variants, an exact match, a LIKE on the last 10.
SEED_EXACT = "SELECT * FROM leads_lead WHERE phone = ANY(%s) LIMIT 1"
SEED_PARTIAL = "SELECT * FROM leads_lead WHERE phone LIKE %s LIMIT 1"


def seed_variants(e164: str) -> list[str]:
    normalized = e164.lstrip("+")
    variants = [normalized, "+" + normalized, normalized[2:] if normalized.startswith("90") else normalized]
    variants.append("0" + normalized[2:])
    return list(dict.fromkeys(variants))


def seed_find(e164: str):
    """The seed's two queries, through the same driver and cursor as ours."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SEED_EXACT, [seed_variants(e164)])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(SEED_PARTIAL, ["%" + e164[-10:]])
            row = cursor.fetchone()
    return row


def timed(call, numbers, rounds):
    """Microseconds per call: every number once per round, the median round's mean and all calls' p95."""
    means, samples = [], []
    for _ in range(rounds):
        round_samples = []
        for number in numbers:
            started = time.perf_counter()
            call(number)
            round_samples.append((time.perf_counter() - started) * 1e6)
        means.append(statistics.fmean(round_samples))
        samples.extend(round_samples)
    return statistics.median(means), statistics.median(samples), percentile(samples, 0.95)


def measure(args) -> None:
    from django.db import connection

    from leads.selectors import lead_find_by_phone, leads_find_by_phones

    rng = random.Random(11)
    main = args.leads - FALLBACK_LEADS - 2 * SHARED_LEADS
    cases = {
        "known number": [f"+90532{n:07d}" for n in rng.sample(range(1, main + 1), args.runs)],
        "unknown number": [f"+90539{n:07d}" for n in rng.sample(range(1, 10_000_000), args.runs)],
        "other country code (last 10)": [f"+90533{n:07d}" for n in rng.sample(range(1, FALLBACK_LEADS + 1), 500)],
        "two leads share the last 10": [f"+90534{n:07d}" for n in rng.sample(range(1, SHARED_LEADS + 1), 500)],
    }
    seed_rounds = {"unknown number": 1}  # a scan of the table per call: one round, fewer numbers
    cursor = connection.cursor()
    # Same leads found: the seed's first hit is one of ours (it has no order among several).
    for label, numbers in cases.items():
        for number in numbers[:50]:
            ours = lead_find_by_phone(e164=number)
            seed = seed_find(number)
            assert (ours.lead is None) == (seed is None), (label, number)
            if label != "two leads share the last 10":
                assert ours.lead is None or str(ours.lead.pk) == str(seed[0]), (label, number)
            else:
                assert ours.candidates == 2, (label, number, ours)
    header = f"{'seed mean':>10} {'ours mean':>10} {'p50':>7} {'p95':>7} {'ratio':>7}"
    print(f"\n{'lookup, 1 number (µs per call)':<32} {header}")
    for label, numbers in cases.items():
        seed_numbers = numbers[:20] if label == "unknown number" else numbers
        for number in numbers[:20]:  # warm both
            lead_find_by_phone(e164=number)
            seed_find(number)
        seed_mean, _, _ = timed(seed_find, seed_numbers, seed_rounds.get(label, args.rounds))
        mean, p50, p95 = timed(lambda n: lead_find_by_phone(e164=n), numbers, args.rounds)
        print(f"{label:<32} {seed_mean:10.0f} {mean:10.0f} {p50:7.0f} {p95:7.0f} {seed_mean / mean:6.1f}x")

    batch = [number for numbers in cases.values() for number in numbers[:25]]
    rng.shuffle(batch)
    assert {n: m.lead for n, m in leads_find_by_phones(e164s=batch).items()} == {
        n: lead_find_by_phone(e164=n).lead for n in batch
    }
    mean_batch, _, _ = timed(lambda numbers: leads_find_by_phones(e164s=numbers), [batch], args.rounds * 20)
    mean_one, _, _ = timed(lambda n: lead_find_by_phone(e164=n), batch, args.rounds)
    print(
        f"\nbatch of {len(batch)} mixed numbers: leads_find_by_phones {mean_batch / 1000:.2f} ms, "
        f"{len(batch)} × lead_find_by_phone {mean_one * len(batch) / 1000:.2f} ms "
        f"({mean_one * len(batch) / mean_batch:.1f}x)"
    )
    for label, number in (("known", cases["known number"][0]), ("unknown", cases["unknown number"][0])):
        cursor.execute("EXPLAIN ANALYZE " + last_query_of(lambda n=number: lead_find_by_phone(e164=n)))
        plan = [row[0] for row in cursor.fetchall()]
        print(f"\nplan, {label} number:\n  " + "\n  ".join(plan))


def last_query_of(call) -> str:
    """The SQL a call ran last, with its parameters inlined (for EXPLAIN)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    return queries.captured_queries[-1]["sql"]


def exists(name: str) -> bool:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2_000, help="numbers per case")
    parser.add_argument("--rounds", type=int, default=5, help="times each number is looked up")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse a kept one)")
    args = parser.parse_args()

    reuse = args.keep and exists(DB_NAME)
    if not reuse:
        fresh_database()
    env = {
        "DJANGO_SETTINGS_MODULE": "happycrm.settings.production",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "ERASURE_HMAC_KEY": "bench-" + "e" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": DATABASE_URL,
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
        "TWILIO_AUTH_TOKEN": "bench-auth-token",
        "MESSAGING_BACKEND": "messaging.backends.simulator.SimulatorBackend",
    }
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0", "--skip-checks"], cwd=ROOT, check=True)
    import django

    django.setup()
    try:
        from leads.models import Lead

        if not reuse or not Lead.objects.exists():  # a kept database that a failed run left empty is loaded
            load(args.leads)
        measure(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
