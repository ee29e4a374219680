"""Messages API benchmark: `GET /api/v1/leads/<id>/messages` on a thread of 100,000 messages, the first page and a
page 50,000 messages back, against a bare WSGI app on the same gunicorn settings (the ceiling), in one run.

The web process is started with the Procfile's command (gunicorn with the root gunicorn.conf.py) under production
settings on PostgreSQL + Redis, on its own database. The data is bulk-loaded with generate_series: one lead with
--messages messages (a fiftieth with an attachment, the outbound ones sent by an agent) and --other-leads leads
with --others messages between them, interleaved in time. Each request is sent with a Bearer token over one
keep-alive connection, one at a time; the bare app (on its own port) and the API's requests alternate, so a
neighbour's burst on the shared CPU lands on all alike. The events feed without a cursor (token, permissions,
throttle, one small query) is timed beside them: the fixed cost of any API request. The throttle runs as shipped,
its rates raised so that it never refuses. Then EXPLAIN ANALYZE of the deep page's read.

    .venv/bin/python bench/api_messages.py [--messages 100000] [--others 300000] [--runs 200] [--keep]

BENCH_DB_NAME and BENCH_REDIS_URL choose another database and Redis database (two benchmarks at once).
Needs PostgreSQL and Redis on 127.0.0.1; drops its database at the end.
"""

import argparse
import http.client
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import DB_NAME, drop_database, free_port, settle
from inbox_load import insert_select, percentile  # it puts the project on the path
from stack import environment, migrate, start, stop, wait_for_port

DEEP = 50_000  # messages back from the newest: the deep page's cursor
THROTTLE_RATES = {"API_THROTTLE_TOKEN": "1000000/minute", "API_THROTTLE_USER": "1000000/minute"}


def load(args) -> tuple[str, str, str, float]:
    """The data, the agent's token, the big lead's id and the deep page's cursor (a message id)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from accounts.roles import AGENTS
    from accounts.services import api_token_create
    from leads.models import Lead, Stage
    from messaging.models import Message, MessageMedia

    started = time.monotonic()
    agent = get_user_model().objects.create_user(username="bench-agent")
    agent.groups.add(Group.objects.get(name=AGENTS))
    _, secret = api_token_create(user=agent, name="bench")
    stage = Stage.objects.get(is_default=True)
    big = Lead.objects.create(name="Uzun Konuşma", phone="+905559999999", stage=stage)
    with connection.cursor() as cursor:
        insert_select(
            cursor,
            Lead,
            {
                "name": "'Müşteri ' || n",
                "search_name": "'musteri ' || n",
                "phone": "'+90532' || lpad(n::text, 7, '0')",
                "stage_id": ("%s", [stage.pk]),
            },
            "generate_series(1, %s) AS n",
            [args.other_leads],
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_leads AS SELECT row_number() OVER () AS n, id FROM leads_lead WHERE id <> %s",
            [big.pk],
        )
        cursor.execute("CREATE INDEX ON bench_leads (n)")
        message = {
            "body": "'Merhaba, düğün için fiyat alabilir miyim? ' || m",
            "search_body": "'merhaba, dugun icin fiyat alabilir miyim? ' || m",
            "is_from_lead": "m % 2 = 0",
            "is_read": "true",
            "status": "CASE WHEN m % 2 = 0 THEN 'received' ELSE 'delivered' END",
            "provider": "'twilio'",
            "twilio_message_sid": "'SM' || lpad(to_hex(m), 32, '0')",
            "sent_by_id": ("CASE WHEN m %% 2 = 1 THEN %s END", [agent.pk]),
        }
        # The big thread: a message every 30 s, the newest now.
        insert_select(
            cursor,
            Message,
            {**message, "lead_id": ("%s", [big.pk]), "created_at": "now() - (m * 30 || ' seconds')::interval"},
            "generate_series(1, %s) AS m",
            [args.messages],
        )
        # The others over the same period, interleaved with it.
        insert_select(
            cursor,
            Message,
            {
                **message,
                "lead_id": f"(SELECT id FROM bench_leads b WHERE b.n = 1 + m % {args.other_leads})",  # noqa: S608
                "twilio_message_sid": "'SN' || lpad(to_hex(m), 32, '0')",
                "created_at": (
                    f"now() - ((m::bigint * 30 * {args.messages}) / %s || ' seconds')::interval",
                    [args.others],
                ),
            },
            "generate_series(1, %s) AS m",
            [args.others],
        )
        insert_select(
            cursor,
            MessageMedia,
            {
                "message_id": "t.id",
                "position": "0",
                "content_type": "'image/jpeg'",
                "size": "48213",
                "status": "'stored'",
                "file": "'messages/bench/' || t.id || '.jpg'",
            },
            "(SELECT id FROM messaging_message WHERE lead_id = %s AND random() < 0.02) AS t",
            [big.pk],
        )
        cursor.execute(
            "SELECT id FROM messaging_message WHERE lead_id = %s ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            [big.pk, DEEP],
        )
        deep = cursor.fetchone()[0]
        cursor.execute("UPDATE leads_lead SET last_message_at = now()")
        cursor.execute("VACUUM ANALYZE")
    return secret, str(big.pk), str(deep), time.monotonic() - started


def timed(targets: dict[str, tuple[int, str]], headers: dict[str, str], runs: int) -> dict[str, list[float]]:
    """Each (port, path) in turn, `runs` times, over one keep-alive connection each: milliseconds per request."""
    paths = {name: path for name, (_, path) in targets.items()}
    connections = {
        name: http.client.HTTPConnection("127.0.0.1", port, timeout=30) for name, (port, _) in targets.items()
    }
    samples = {name: [] for name in paths}

    def get(name):
        connection = connections[name]
        started = time.perf_counter()
        connection.request("GET", paths[name], headers=headers)
        response = connection.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200, (name, response.status)
        return elapsed

    for name in paths:
        for _ in range(5):  # warm: the worker's first requests, the connection
            get(name)
    for _ in range(runs):
        for name in paths:
            samples[name].append(get(name))
    for connection in connections.values():
        connection.close()
    return samples


def explain(big: str, deep: str) -> str:
    """EXPLAIN ANALYZE of the deep page's read, as the selector runs it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.models import Lead
    from messaging.models import Message
    from messaging.selectors import thread_page

    lead = Lead.objects.get(pk=big)
    with CaptureQueriesContext(connection) as queries:
        thread_page(lead=lead, before=Message.objects.get(pk=deep), size=50)
    sql = next(
        query["sql"] for query in queries.captured_queries if "ORDER BY" in query["sql"] and "LIMIT 51" in query["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="in the big thread")
    parser.add_argument("--others", type=int, default=300_000, help="other leads' messages")
    parser.add_argument("--other-leads", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="leave the database (for EXPLAIN by hand)")
    args = parser.parse_args()

    port = free_port()
    # The shipped throttle runs; its rates are raised only so that the benchmark's own requests are never refused.
    env = environment(port, **THROTTLE_RATES)
    migrate(env)
    os.environ.update(env)
    logs = Path(tempfile.mkdtemp(prefix="api-messages-"))
    try:
        import django

        django.setup()
        from django.db import connection, connections

        secret, big, deep, loaded = load(args)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(*) FILTER (WHERE lead_id = %s) FROM messaging_message", [big])
            total, thread = cursor.fetchone()
        print(f"data      {total:,} messages, {thread:,} in the timed thread, {loaded:.0f} s to load ({DB_NAME})")
        settle(connection)
        connections.close_all()  # nothing of this process holds the database while the server is timed

        headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
        url = f"/api/v1/leads/{big}/messages"
        bare_port = free_port()
        command = "gunicorn --pythonpath bench bare_wsgi:application"
        bare = start("web", env, command=command, port=bare_port, log=logs / "bare.log")
        web = start("web", env, log=logs / "web.log")
        try:
            wait_for_port(bare_port)
            wait_for_port(port)
            targets = {
                "bare": (bare_port, "/"),
                "floor": (port, "/api/v1/events"),
                "first": (port, url),
                "deep": (port, f"{url}?before={deep}"),
            }
            results = timed(targets, headers, args.runs)
        finally:
            stop(web, bare)
        load_average = os.getloadavg()[0]

        bare_p50 = statistics.median(results["bare"])
        rows = [
            ("bare WSGI app (ceiling)", results["bare"]),
            ("events feed without a cursor (the API's floor: auth, throttle, one query)", results["floor"]),
            ("first page (50 newest)", results["first"]),
            (f"page {DEEP:,} messages back (before=)", results["deep"]),
        ]
        print(f"load average after timing: {load_average:.2f} on {os.cpu_count()} CPUs; {args.runs} requests each")
        print("\n| request (one connection, Bearer token) | p50 ms | p95 ms | p50 − bare ms | × bare |")
        print("|---|---|---|---|---|")
        for name, samples in rows:
            p50, p95 = statistics.median(samples), percentile(samples, 0.95)
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 - bare_p50:.1f} | {p50 / bare_p50:.1f} |")
        print("\nEXPLAIN ANALYZE of the deep page's read:\n" + explain(big, deep))
        print(f"logs: {logs}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
