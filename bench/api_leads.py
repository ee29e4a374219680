"""Lead list API benchmark: GET /api/v1/leads with 100,000 leads, one request at a time, against a bare WSGI app.

The web process is started with its Procfile command (gunicorn through the root gunicorn.conf.py) under production
settings on PostgreSQL + Redis, its own database. 100,000 leads are loaded with one `INSERT … SELECT
generate_series` (Turkish names and mobile numbers, over the five starter stages, a year of creation times, some
unread and some opted out). A Python client on one keep-alive connection sends each request after the previous
answer, with an operator's Bearer token (throttled as shipped, at a rate the run stays under), so each figure is
what one request costs the server (and the loopback); the bare WSGI app (bench/bare_wsgi.py) on the same gunicorn
settings, measured in the same run, is the floor. The cases take turns, request by request. Then the list's queries
are explained (EXPLAIN ANALYZE) in-process, so a slow one says why.

    .venv/bin/python bench/api_leads.py [--leads 100000] [--runs 200] [--keep]

BENCH_DB_NAME and BENCH_REDIS_URL choose another database and Redis database (two benchmarks at once).
Needs PostgreSQL and Redis on 127.0.0.1; creates and drops its own database (kept with --keep).
"""

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from common import drop_database, free_port
from inbox_load import insert_select, percentile
from stack import ROOT, environment, migrate, start, stop, wait_for_port

FIRST_NAMES = (  # noqa: SIM905 -- words, not items
    "Ayşe Fatma Emine Hatice Zeynep Elif Merve Büşra Esra Özge Gül Şule İrem Çiğdem Yasemin Derya Ebru Sevgi "
    "Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim Murat Ömer Yusuf Emre Burak Serkan Oğuz Çağlar Tolga Kerem Barış"
).split()
LAST_NAMES = (  # noqa: SIM905 -- words, not items
    "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin Kara Koç "
    "Kurt Özkan Şimşek Polat Korkmaz Güneş Erdoğan Aktaş Bulut Keskin Ünal Uçar Acar Tekin Kaplan Avcı Türk"
).split()
SEARCHED = 4242  # the lead whose number the phone search types
PAGE_SIZE = 50  # the API's default
WARM_UP = 20


def phone_sql(n: str) -> str:
    """A Turkish mobile number per n, unique for n below 10,000,000 (7919 is prime to 10⁷), from +90 530 to +90 559."""
    return f"'+905' || (30 + {n} % 30)::text || lpad((({n}::bigint * 7919) % 10000000)::text, 7, '0')"


def load(leads: int) -> float:
    from django.db import connection

    from happycrm.search import fold
    from leads.models import Lead, Stage

    started = time.monotonic()
    stages = (
        "ARRAY["
        + ",".join(f"'{pk}'::uuid" for pk in Stage.objects.order_by("position").values_list("pk", flat=True))
        + "]"
    )

    def array(words):
        return "ARRAY[" + ",".join(f"'{word}'" for word in words) + "]"

    first, last = f"(n % {len(FIRST_NAMES)}) + 1", f"((n / {len(FIRST_NAMES)}) % {len(LAST_NAMES)}) + 1"
    created = "now() - ((n::bigint * 311) % 31536000 || ' seconds')::interval"
    with connection.cursor() as cursor:
        insert_select(
            cursor,
            Lead,
            {
                "name": f"({array(FIRST_NAMES)})[{first}] || ' ' || ({array(LAST_NAMES)})[{last}]",
                "search_name": f"({array(map(fold, FIRST_NAMES))})[{first}] || ' ' || "
                f"({array(map(fold, LAST_NAMES))})[{last}]",
                "phone": phone_sql("n"),
                "email": "CASE WHEN n % 3 = 0 THEN 'musteri' || n || '@example.com' ELSE '' END",
                "stage_id": f"({stages})[1 + n % 5]",
                "unread_count": "CASE WHEN n % 9 = 0 THEN 1 + n % 4 ELSE 0 END",
                "last_inbound_at": f"CASE WHEN n % 2 = 0 THEN {created} + interval '1 hour' END",
                "last_message_at": f"CASE WHEN n % 2 = 0 THEN {created} + interval '1 hour' END",
                "opted_out_at": "CASE WHEN n % 50 = 0 THEN now() END",
                "created_at": created,
                "updated_at": created,
            },
            "generate_series(1, %s) AS n",
            [leads],
        )
        cursor.execute("VACUUM ANALYZE leads_lead")
    return time.monotonic() - started


def national(e164: str) -> str:
    """`+905551234567` → `0555 123 45 67`, as a person types it."""
    digits = e164.removeprefix("+90")
    return f"0{digits[:3]} {digits[3:6]} {digits[6:8]} {digits[8:]}"


def token() -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import OPERATORS
    from accounts.services import api_token_create

    user = get_user_model().objects.create_user(username="integration", is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATORS))  # view, add and change leads: the permission check's queries
    return api_token_create(user=user, name="bench")[1]


def timed(port: int, paths: dict[str, str], runs: int, headers: dict) -> dict[str, list[float]]:
    """Milliseconds per request, each sent after the previous answer, one keep-alive connection per path; the paths
    take turns (a neighbour's burst on the shared CPU lands on all alike). The first rounds warm the process (imports,
    the connection pool, the plans) and are not counted."""
    connections = {label: http.client.HTTPConnection("127.0.0.1", port, timeout=30) for label in paths}
    samples = {label: [] for label in paths}
    try:
        for n in range(runs + WARM_UP):
            for label, path in paths.items():
                started = time.perf_counter()
                connections[label].request("GET", path, headers=headers)
                response = connections[label].getresponse()
                response.read()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status != 200:
                    raise SystemExit(f"{path}: {response.status}")
                if n >= WARM_UP:
                    samples[label].append(elapsed)
    finally:
        for connection in connections.values():
            connection.close()
    return samples


def explain(cases: dict[str, dict]) -> None:
    """EXPLAIN ANALYZE of the queries each case's list runs (its count and its page), in-process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging.api import LeadViewSet

    view = LeadViewSet()
    for label, params in cases.items():
        filters = view.filters_class(data=params)
        filters.is_valid(raise_exception=True)
        leads = view.filter_leads(filters.validated_data)
        start = (int(params.get("page", 1)) - 1) * PAGE_SIZE
        with CaptureQueriesContext(connection) as queries:
            leads.count()
            list(leads[start : start + PAGE_SIZE])
        for what, query in zip(("count", "page"), queries.captured_queries, strict=True):
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
                plan = [row[0] for row in cursor.fetchall()]
            print(f"\n-- {label}: {what} ({plan[-1].strip()})")
            print("\n".join(line for line in plan if "Execution" not in line and "Planning" not in line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="leave the database (for EXPLAIN by hand)")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()

    port = free_port()
    # Throttled as shipped (a count in Redis per request), at a rate this many requests in a row stay under.
    rates = {"API_THROTTLE_TOKEN": "100000/minute", "API_THROTTLE_USER": "100000/minute"}
    env = environment(port, **rates)
    migrate(env)
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection, connections

    loaded = load(args.leads)
    secret = token()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        count = cursor.fetchone()[0]
        cursor.execute("SELECT phone FROM leads_lead ORDER BY phone OFFSET %s LIMIT 1", [SEARCHED])
        phone = cursor.fetchone()[0]
        cursor.execute("SELECT id FROM leads_stage ORDER BY position OFFSET 2 LIMIT 1")
        stage = str(cursor.fetchone()[0])
    connections.close_all()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {count:,} leads loaded in {loaded:.0f} s; "
          f"{args.runs} requests each, one at a time")  # fmt: skip

    cases = {
        "lead list, first page": {},
        "filtered by stage": {"stage": stage},
        "unread only": {"unread": "true"},
        f"search by phone ({national(phone)})": {"search": national(phone)},
        "page 100": {"page": "100"},
    }
    headers = {"Authorization": f"Bearer {secret}"}
    logs = Path(tempfile.mkdtemp(prefix="api-leads-"))
    bare = start("web", env, command="gunicorn --pythonpath bench bare_wsgi:application", log=logs / "bare.log")
    try:
        wait_for_port(port)
        results = timed(port, {"bare WSGI app (floor)": "/"}, args.runs, {})
    finally:
        stop(bare)
    web = start("web", env, log=logs / "web.log")
    try:
        wait_for_port(port)
        paths = {
            label: "/api/v1/leads" + (f"?{urlencode(params)}" if params else "") for label, params in cases.items()
        }
        results.update(timed(port, paths, args.runs, headers))
    finally:
        stop(web)

    floor = statistics.median(results["bare WSGI app (floor)"])
    print("\n| request | p50 ms | p95 ms | p50 − floor ms |\n|---|---|---|---|")
    for label, samples in results.items():
        p50 = statistics.median(samples)
        print(f"| {label} | {p50:.1f} | {percentile(samples, 0.95):.1f} | {p50 - floor:.1f} |")
    try:
        if not args.no_explain:
            explain(cases)
    finally:
        connections.close_all()
        if not args.keep:
            drop_database()
    print(f"\nlogs: {logs}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
