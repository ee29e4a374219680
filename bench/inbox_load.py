"""Agent pages benchmark.

1. Webhook-to-screen latency: the ASGI app under uvicorn (production settings) and a Celery worker on PostgreSQL +
   Redis; a conversation open in Debian's chromium (Playwright); 50 signed inbound webhooks, one
   at a time; the time from sending each until its bubble is on the screen.
2. Server time of the inbox with 100,000 leads and 1,000,000 messages, and of a conversation
   with 100,000 messages against one with 100 (Django's test client, in-process, PostgreSQL); the team's
   views (Mine, Unassigned, a common and a rare label, Mentions) over a conversation per lead (half resolved,
   a tenth snoozed, the open ones among five agents and nobody) against the unfiltered first page.
3. Word searches at that size (the inbox's first page: its count and rows) against the seed's
   algorithm in the same run (`body__icontains` per lead, a scan of the messages), after filling
   the folded columns and building the trigram indexes as the migrations do (both timed).

    .venv/bin/python bench/inbox_load.py [--messages 50] [--leads 100000] [--total 1000000] [--server-only]

BENCH_DB_NAME and BENCH_REDIS_URL choose another database and Redis database (two benchmarks at once).

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
        page.press("#id_password", "Enter")  # the top bar has a submit button too (the language switch)
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


# Words of the seeded messages (a wedding venue's inbox), so the trigram index sees varied text as it would for real.
VOCABULARY = (
    "merhaba fiyat düğün nişan kına fotoğraf video salon tarih cumartesi pazar saat kaç kişi menü vejetaryen çocuk "
    "müzik orkestra süsleme çiçek pasta davetiye gelinlik damat gelin organizasyon bütçe teklif indirim kampanya "
    "ödeme kapora sözleşme randevu görüşme telefon adres otopark bahçe havuz teras kokteyl yemek içecek servis garson "
    "masa sandalye ışık ses sahne dans misafir aile arkadaş teşekkürler tamam eylül haziran öğlen akşam"
)
RARE = "Düğün fotoğrafçısı için fiyat alabilir miyim?"  # in 100 messages; "fotoğraf" is in about 8% of them
RARE_COUNT = 100


def seed(args, stage):
    """Leads and messages by SQL (fast), then the folded columns filled as the migration fills them (timed)."""
    from django.db import connection

    from happycrm.search import fill_folded_column, trigram_index
    from leads.models import Lead
    from messaging.models import Message

    vocabulary = VOCABULARY.split()
    words = "ARRAY[" + ",".join(f"'{word}'" for word in vocabulary) + "]"
    pick = f"({words})[1 + floor(random() * {len(vocabulary)})::int]"
    editor = Editor(connection)
    indexes = [
        trigram_index("leads_lead", "search_name", "lead_search_name_trgm"),
        trigram_index("messaging_message", "search_body", "message_search_body_trgm"),
    ]
    for index in indexes:  # the migration fills the columns before it builds the indexes: do the same
        index.reverse_code(django_apps(), editor)
    with connection.cursor() as cursor:
        insert_select(
            cursor,
            Lead,
            {
                "name": "'Müşteri ' || n",
                "phone": "'+90532' || lpad(n::text, 7, '0')",
                "stage_id": ("%s", [stage.pk]),
                "unread_count": "n % 3",
                "last_message_at": "now() - (n || ' seconds')::interval",
            },
            "generate_series(1, %s) AS n",
            [args.leads],
        )
        per_lead = max(1, (args.total - 100_000) // args.leads)
        insert_select(
            cursor,
            Message,
            {
                "lead_id": "l.id",
                "body": f"'Merhaba, ' || {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick}"
                " || ' ' || m",
                "is_from_lead": "m % 2 = 0",
                "is_read": "true",
                "status": "'delivered'",
                "created_at": "l.last_message_at - (m || ' minutes')::interval",
            },
            "leads_lead l CROSS JOIN generate_series(0, %s) AS m",
            [per_lead - 1],
        )
        cursor.execute(
            """UPDATE messaging_message SET body = %s
               WHERE id IN (SELECT id FROM messaging_message ORDER BY random() LIMIT %s)""",
            [RARE, RARE_COUNT],
        )
    started = time.monotonic()
    fill_folded_column("leads", "Lead", "search_name")(django_apps(), editor)
    fill_folded_column("messaging", "Message", "search_body")(django_apps(), editor)
    filled = time.monotonic() - started
    started = time.monotonic()
    for index in indexes:
        index.code(django_apps(), editor)
    editor.execute("VACUUM ANALYZE")
    return filled, time.monotonic() - started


def insert_select(cursor, model, values: dict, source: str, params: list) -> None:
    """`INSERT INTO <model's table> SELECT … FROM source`: the given SQL per column, every other column its default
    (so a column added to the model later needs no change here)."""
    from django.db import connection

    values = {"id": "gen_random_uuid()", "created_at": "now()", "updated_at": "now()", **values}
    columns, expressions, all_params = [], [], []
    for field in model._meta.concrete_fields:
        if field.generated:
            continue
        columns.append(f'"{field.column}"')
        value = values.get(field.column)
        if value is None and field.null and not field.has_default():
            value = "NULL"
        elif value is None:
            default = field.get_default()  # "" for a text field without one
            if default is None:
                raise ValueError(f"{model.__name__}.{field.name}: no value and no default")
            value = ("%s", [field.get_db_prep_save(default, connection)])
        sql, sql_params = value if isinstance(value, tuple) else (value.replace("%", "%%"), [])
        expressions.append(sql)
        all_params.extend(sql_params)
    table = model._meta.db_table
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {source}",  # noqa: S608
        [*all_params, *params],
    )


class Editor:
    """What the migration's steps use of a schema editor."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, sql):
        with self.connection.cursor() as cursor:
            cursor.execute(sql)


def django_apps():
    from django.apps import apps

    return apps


def server_times(args):
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from leads.models import Lead, Stage
    from messaging.models import Message

    stage = Stage.objects.get(is_default=True)
    started = time.monotonic()
    filled, indexed = seed(args, stage)
    big = Lead.objects.create(name="Big Thread", phone="+905559999999", stage=stage)
    small = Lead.objects.create(name="Small Thread", phone="+905558888888", stage=stage)
    with connection.cursor() as cursor:
        for lead, count in ((big, 100_000), (small, 100)):
            insert_select(
                cursor,
                Message,
                {
                    "lead_id": ("%s", [lead.pk]),
                    "body": "'Mesaj ' || m",
                    "search_body": "'mesaj ' || m",
                    "is_from_lead": "m % 2 = 0",
                    "is_read": "true",
                    "status": "'read'",
                    "created_at": "now() - (m || ' seconds')::interval",
                },
                "generate_series(1, %s) AS m",
                [count],
            )
        cursor.execute("UPDATE leads_lead SET last_message_at = now() WHERE id IN (%s, %s)", [big.pk, small.pk])
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM leads_lead")
        leads = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM messaging_message")
        messages = cursor.fetchone()[0]
    team = team_seed(stage)
    print(f"data       {leads} leads, {messages} messages in {time.monotonic() - started:.0f}s")
    print(f"migration  folded columns filled in {filled:.0f}s, trigram indexes built in {indexed:.0f}s")

    client = Client()
    client.force_login(team["agent"])

    def timed(label, url, params=None, runs=15):
        client.get(url, params or {})  # warm
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, params or {})
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(f"{label:<44} p50 {statistics.median(samples):6.1f} ms  p95 {percentile(samples, 0.95):6.1f} ms")

    timed("inbox, first page", "/inbox/")
    timed("inbox, page 100", "/inbox/", {"page": "100"})
    timed("inbox, unread filter", "/inbox/", {"unread": "1"})
    timed("inbox, search by phone", "/inbox/", {"q": "0532 000 12 34"})
    timed("inbox, Mine (open)", "/inbox/", {"view": "mine"})
    timed("inbox, Unassigned (open)", "/inbox/", {"view": "unassigned"})
    timed("inbox, All (open)", "/inbox/", {"view": "all"})
    timed("inbox, Mine, snoozed", "/inbox/", {"view": "mine", "status": "snoozed"})
    timed(f"inbox, a common label ({team['common_share']:.0%} of leads)", "/inbox/", {"label": team["common"]})
    timed(f"inbox, a rare label ({team['rare_count']} leads)", "/inbox/", {"label": team["rare"]})
    timed("inbox, Unassigned with a common label", "/inbox/", {"view": "unassigned", "label": team["common"]})
    timed("inbox, Mentions", "/inbox/", {"view": "mentions"})
    timed("conversation, 100,000 messages", f"/inbox/{big.pk}/")
    timed("conversation, 100 messages", f"/inbox/{small.pk}/")
    search_times(timed)


def team_seed(stage) -> dict:
    """A conversation per lead (half resolved, a tenth snoozed, the open ones among five agents and nobody), two
    labels (one on a fifth of the leads, one on 200), 50 notes mentioning the timing agent; by SQL."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from accounts.roles import AGENTS
    from conversations.models import Conversation, Mention, Note
    from leads.models import Label, Lead

    users = get_user_model()
    agents = [users.objects.create_user(username=f"agent{n}", first_name=f"Agent {n}") for n in range(5)]
    group = Group.objects.get(name=AGENTS)
    for agent in agents:
        agent.groups.add(group)
    ids = ",".join(str(agent.pk) for agent in agents)
    common, rare = Label.objects.create(name="VIP"), Label.objects.create(name="Nadir")
    with connection.cursor() as cursor:
        insert_select(
            cursor,
            Conversation,
            {
                "lead_id": "l.id",
                "status": "CASE WHEN r < 0.5 THEN 'resolved' WHEN r < 0.6 THEN 'snoozed' ELSE 'open' END",
                "assignee_id": f"CASE WHEN r2 < 0.2 THEN NULL ELSE (ARRAY[{ids}])[1 + floor(random() * 5)::int] END",
                "snoozed_until": "CASE WHEN r >= 0.5 AND r < 0.6 THEN now() + interval '1 day' END",
                "resolved_at": "CASE WHEN r < 0.5 THEN l.last_message_at END",
                "opened_at": "l.last_message_at - interval '1 hour'",
                "channel": "''",
            },
            "(SELECT id, last_message_at, random() AS r, random() AS r2 FROM leads_lead) AS l",
            [],
        )
        through = Lead.labels.through._meta.db_table
        cursor.execute(
            f"INSERT INTO {through} (lead_id, label_id) SELECT id, %s FROM leads_lead WHERE random() < 0.2",  # noqa: S608
            [common.pk],
        )
        cursor.execute(
            f"INSERT INTO {through} (lead_id, label_id) SELECT id, %s FROM leads_lead ORDER BY random() LIMIT 200",  # noqa: S608
            [rare.pk],
        )
        cursor.execute("ANALYZE")
    mentioned = list(Lead.objects.order_by("?")[:50])
    for lead in mentioned:
        note = Note.objects.create(lead=lead, author=agents[1], body=f"@{agents[0].username} bakar mısın?")
        Mention.objects.create(note=note, user=agents[0], lead=lead)
    share = Lead.objects.filter(labels=common).count() / Lead.objects.count()
    return {
        "agent": agents[0],
        "common": str(common.pk),
        "rare": str(rare.pk),
        "common_share": share,
        "rare_count": 200,
    }


def search_times(timed, runs=15):
    """Word searches: the inbox's first page (count + rows) against the seed's scan, `body__icontains` per lead."""
    from django.core.paginator import Paginator
    from django.db.models import Exists, OuterRef, Q

    from messaging.inbox.selectors import INBOX_PAGE_SIZE, inbox_leads
    from messaging.models import Message

    def seed_algorithm(query):
        return inbox_leads().filter(
            Q(name__icontains=query) | Exists(Message.objects.filter(lead=OuterRef("pk"), body__icontains=query))
        )

    def first_page(queryset):
        page = Paginator(queryset, INBOX_PAGE_SIZE).get_page(1)
        return page.paginator.count, [lead.pk for lead in page]

    def sample(make):
        first_page(make())  # warm
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            found, _rows = first_page(make())
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples), percentile(samples, 0.95), found

    cases = [
        # label, what the seed needed typed (its exact case and accents), what an agent types now
        (f"a rare word ({RARE_COUNT} messages)", "fotoğrafçısı", "FOTOGRAFCISI"),
        ("a common word (~8% of messages)", "vejetaryen", "VEJETARYEN"),
        ("two words", "fotoğrafçısı için", "fotografcisi icin"),
        ("a name", "Müşteri 4242", "musteri 4242"),
    ]
    print(f"{'word search, first page (queries)':<44} {'seed scan p50':>14} {'now p50 / p95':>18} {'ratio':>7}  leads")
    for label, seed_query, query in cases:
        seed_p50, _, seed_found = sample(lambda seed_query=seed_query: seed_algorithm(seed_query))
        p50, p95, found = sample(lambda query=query: inbox_leads(query=query))
        assert found >= seed_found, (label, found, seed_found)
        print(f"{label:<44} {seed_p50:11.1f} ms {p50:8.1f} / {p95:5.1f} ms {seed_p50 / p50:6.0f}x  {found}")
    timed("inbox page, search a rare word", "/inbox/", {"q": "FOTOGRAFCISI"}, runs=runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--server-only", action="store_true", help="skip the browser latency part")
    args = parser.parse_args()

    fresh_database()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "happycrm.settings.production",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "ERASURE_HMAC_KEY": "bench-" + "e" * 40,
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
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    processes = [
        subprocess.Popen(
            # One origin for the browser: the ASGI application serves the pages and the live stream (the stack
            # routes the stream to its own process behind nginx; gunicorn alone would never send the stream).
            [sys.executable, "-m", "uvicorn", "happycrm.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning", "--timeout-graceful-shutdown", "2"],
            cwd=ROOT, env=env, start_new_session=True,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "happycrm", "worker", "--loglevel", "WARNING", "--concurrency",
             "2", "--queues", "celery,campaigns", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, start_new_session=True,
        ),
    ]  # fmt: skip
    try:
        if not args.server_only:
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
