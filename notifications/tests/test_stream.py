"""The live stream under a real ASGI server (uvicorn in a thread of the test process), read by plain HTTP clients."""

import http.client
import queue
import socket
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.test import Client

from happycrm.tests.asgi_server import AsgiServer
from happycrm.tests.broker import wait_until
from messaging.services.events import event_new_message, event_status_update
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from notifications import hub, views
from notifications.models import Event
from notifications.presence import presence_signal
from notifications.services import event_record

URL = "/events/stream"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(monkeypatch):
    # Only announcements may deliver in time: a periodic look at the database would hide a missed wake-up.
    monkeypatch.setattr(hub, "LOCAL_POLL_SECONDS", 60.0)
    monkeypatch.setattr(hub, "REDIS_POLL_SECONDS", 60.0)
    with AsgiServer(static=False) as running:
        yield running


@pytest.fixture
def session_for(user_in_role):
    from accounts.roles import AGENTS

    def make(username):
        user = user_in_role(username, AGENTS)
        client = Client()
        client.force_login(user)
        return user, client.cookies["sessionid"].value

    return make


class Sse:
    """One open event stream, its messages parsed into dicts (id, event, data, comment) by a reader thread."""

    def __init__(self, server, session, last_event_id=None, *, path=URL, headers=()):
        self.connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
        headers = {"Accept": "text/event-stream", **dict(headers)}
        if session is not None:
            headers["Cookie"] = f"sessionid={session}"
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.messages = queue.Queue()
        self.ended = threading.Event()
        threading.Thread(target=self._read, name="sse-client", daemon=True).start()

    def _read(self):
        fields = {}
        try:
            while line := self.response.readline():
                line = line.decode().rstrip("\n")
                if not line:
                    if fields:
                        self.messages.put(fields)
                    fields = {}
                elif line.startswith(":"):
                    fields["comment"] = line[1:].strip()
                else:
                    name, _, value = line.partition(": ")
                    fields[name] = value
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by the test (http.client trips over its own closed file then)
        finally:
            self.ended.set()

    def next(self, timeout=5.0) -> dict:
        return self.messages.get(timeout=timeout)

    def events(self, timeout=5.0) -> dict:
        """The next message that is not a keepalive."""
        while True:
            message = self.next(timeout)
            if message.get("comment") != "keepalive":
                return message

    def nothing_within(self, seconds: float) -> bool:
        try:
            message = self.next(seconds)
        except queue.Empty:
            return True
        return message.get("comment") == "keepalive"

    def close(self):
        if self.connection.sock is not None:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()


def open_stream(server, session, last_event_id=None, **options) -> Sse:
    stream = Sse(server, session, last_event_id, **options)
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type") == "text/event-stream"
    assert stream.next()["retry"] == "2000"
    return stream


def caught_up(stream, event) -> None:
    """The stream's catch-up read (its only database work) is done once it has sent `event`."""
    assert stream.events()["id"] == str(event.pk)


def hub_of(server) -> hub.Hub:
    """The test server's hub (a live server of the browser tests may have its own in this process)."""
    return hub._hubs[server.loop]


def other_hubs_reads(server) -> int:
    """Reads by the other hubs of this process (the browser tests' live server may still hold a closing page's
    stream): each is one query, which a test counting queries leaves out."""
    return sum(other.reads for other in list(hub._hubs.values()) if other is not hub_of(server))


def settled(server) -> None:
    """Until the hub has finished what it was woken for (its first look at the database, a reconnect)."""
    last = None
    while last != hub_of(server).reads:
        last = hub_of(server).reads
        time.sleep(0.3)


def test_the_stream_needs_a_login_and_the_permission(server, django_user_model):
    anonymous = http.client.HTTPConnection(server.host, server.port, timeout=10)
    anonymous.request("GET", URL)
    response = anonymous.getresponse()
    assert response.status == 302 and "/accounts/login/" in response.getheader("Location")
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="nobody"))
    no_role = http.client.HTTPConnection(server.host, server.port, timeout=10)
    no_role.request("GET", URL, headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"})
    assert no_role.getresponse().status == 403


def test_a_reconnecting_screen_gets_what_it_missed_from_its_last_event_id(server, session_for):
    _, session = session_for("agent")
    first = event_new_message(message=InboundMessageFactory(body="kaçırdığın mesaj"))
    second = event_status_update(message=MessageFactory(status="delivered"))
    stream = open_stream(server, session, last_event_id=first.pk - 1)
    one, two = stream.events(), stream.events()
    assert (one["id"], one["event"]) == (str(first.pk), "new_message") and "kaçırdığın mesaj" in one["data"]
    assert (two["id"], two["event"]) == (str(second.pk), "status_update") and '"status": "delivered"' in two["data"]
    stream.close()

    # ?cursor= does the same (the page's first connection); from the second event on only what came after it.
    later = event_new_message(message=InboundMessageFactory(body="sonra"))
    connection_ = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection_.request("GET", f"{URL}?cursor={second.pk}", headers={"Cookie": f"sessionid={session}"})
    response = connection_.getresponse()
    assert response.readline() == b"retry: 2000\n"
    assert response.readline() == f"id: {second.pk}\n".encode()
    response.readline()
    assert response.readline() == f"id: {later.pk}\n".encode()
    connection_.close()


@pytest.mark.parametrize("cursor", ["²", "99999999999999999999999"])
def test_a_resume_point_that_is_not_an_event_id_starts_from_now(server, session_for, cursor):
    _, session = session_for("agent")
    newest = event_new_message(message=InboundMessageFactory(body="eski"))
    stream = Sse(server, session, last_event_id=cursor)
    assert stream.next() == {"retry": "2000", "id": str(newest.pk)}
    assert stream.nothing_within(0.3)
    stream.close()


def test_one_database_read_delivers_a_new_event_to_every_open_stream(server, session_for, monkeypatch):
    sessions = [session_for(name)[1] for name in ("ayse", "deniz", "mert")]
    before = event_new_message(message=InboundMessageFactory(body="önce"))
    message = InboundMessageFactory(body="herkese")
    streams = [open_stream(server, session, last_event_id=before.pk - 1) for session in sessions]
    for stream in streams:
        caught_up(stream, before)
    assert wait_until(lambda: len(hub_of(server).streams) == 3, timeout=5)
    settled(server)
    reads_before, others_before = hub_of(server).reads, other_hubs_reads(server)

    queries = []
    test_thread = threading.get_ident()
    real_execute = CursorWrapper._execute

    def counting(self, sql, *args, **kwargs):
        if threading.get_ident() != test_thread:
            queries.append(sql)
        return real_execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(CursorWrapper, "_execute", counting)
    started = time.monotonic()
    event = event_new_message(message=message)
    received = [stream.events() for stream in streams]
    elapsed = time.monotonic() - started
    monkeypatch.setattr(CursorWrapper, "_execute", real_execute)

    assert all(item["id"] == str(event.pk) and "herkese" in item["data"] for item in received)
    assert hub_of(server).reads - reads_before == 1
    # One query for every stream; another hub's read (a browser test's closing page) may fall inside the window
    # or straddle its edge, so its queries are allowed, never required.
    assert 1 <= len(queries) <= 1 + (other_hubs_reads(server) - others_before), queries
    assert all("notifications_event" in query for query in queries), queries
    assert elapsed < 2.0
    for stream in streams:
        stream.close()


def test_what_one_read_finds_reaches_each_stream_as_one_batch_in_order(server, session_for, monkeypatch):
    sessions = [session_for(name)[1] for name in ("ayse", "deniz")]
    before = event_new_message(message=InboundMessageFactory(body="önce"))
    messages = InboundMessageFactory.create_batch(30)
    streams = [open_stream(server, session, last_event_id=before.pk - 1) for session in sessions]
    for stream in streams:
        caught_up(stream, before)
    assert wait_until(lambda: len(hub_of(server).streams) == 2, timeout=5)
    settled(server)
    reads_before = hub_of(server).reads
    batches = []
    real_put = hub.Stream.put

    def put(stream, item):
        if stream in hub_of(server).streams:  # not another hub's (a closing page's stream of the live server)
            batches.append(len(item))
        real_put(stream, item)

    monkeypatch.setattr(hub.Stream, "put", put)

    with transaction.atomic():  # a worker's batch: committed together, announced one by one
        events = [event_new_message(message=message) for message in messages]

    for stream in streams:
        assert [stream.events()["id"] for _ in events] == [str(event.pk) for event in events]
    reads = hub_of(server).reads - reads_before
    # Each open stream is handed at most one batch per read (a read may find nothing new), not one per event.
    assert sum(batches) == 2 * len(events)
    assert len(batches) <= 2 * reads < 2 * len(events)
    for stream in streams:
        stream.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's in-memory test database ignores close()")
def test_an_open_stream_holds_no_database_connection_while_it_waits(server, session_for, monkeypatch):
    opened = []
    test_thread = threading.get_ident()
    real_connect = BaseDatabaseWrapper.connect

    def tracking(self):
        if threading.get_ident() != test_thread:
            opened.append(self)
        return real_connect(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "connect", tracking)
    _, session = session_for("agent")
    before = event_new_message(message=InboundMessageFactory(body="önce"))
    streams = [open_stream(server, session, last_event_id=before.pk - 1) for _ in range(3)]
    for stream in streams:
        caught_up(stream, before)
    event_new_message(message=InboundMessageFactory(body="şimdi"))
    for stream in streams:
        assert "şimdi" in stream.events()["data"]
    time.sleep(0.2)
    assert opened, "the server read the database"
    assert all(wrapper.connection is None for wrapper in opened), "a waiting stream holds a connection"
    for stream in streams:
        stream.close()


def server_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name != "sse-client"]


def test_open_streams_hold_no_thread_while_they_wait(server, session_for):
    _, session = session_for("agent")
    before = event_new_message(message=InboundMessageFactory(body="önce"))
    warm = open_stream(server, session, last_event_id=before.pk - 1)  # the hub and its reader thread exist now
    caught_up(warm, before)
    time.sleep(0.2)
    threads = len(server_threads())
    streams = [open_stream(server, session, last_event_id=before.pk - 1) for _ in range(8)]
    for stream in streams:
        caught_up(stream, before)
    # Django gives each request a thread for its sync parts; a stream lets its own go once it has caught up.
    assert wait_until(lambda: len(server_threads()) <= threads + 1, timeout=3), server_threads()
    for stream in [warm, *streams]:
        stream.close()


def test_an_event_for_some_users_reaches_only_their_streams(server, session_for):
    assignee, assignee_session = session_for("assignee")
    _, other_session = session_for("other")
    lead = InboundMessageFactory().lead
    start = event_new_message(message=InboundMessageFactory(lead=lead))
    mine, theirs = (open_stream(server, s, last_event_id=start.pk - 1) for s in (assignee_session, other_session))
    caught_up(mine, start)
    caught_up(theirs, start)

    private = event_record(
        type=Event.Type.LEAD_CHANGED, lead_id=lead.pk, payload={"lead_id": str(lead.pk)}, user_ids=[assignee.pk]
    )
    public = event_new_message(message=InboundMessageFactory(lead=lead, body="herkes"))
    assert mine.events()["id"] == str(private.pk)
    assert mine.events()["id"] == str(public.pk)
    assert theirs.events()["id"] == str(public.pk)  # the private one was never sent to it
    mine.close()
    theirs.close()

    again = open_stream(server, other_session, last_event_id=start.pk)  # catching up skips it too
    assert again.events()["id"] == str(public.pk)
    again.close()


def test_presence_and_typing_reach_the_other_open_pages_now_and_are_never_replayed(server, session_for):
    typist, typist_session = session_for("typist")
    reader, reader_session = session_for("reader")
    lead = InboundMessageFactory().lead
    start = event_new_message(message=InboundMessageFactory(lead=lead))
    mine = open_stream(server, typist_session, last_event_id=start.pk - 1)
    theirs = open_stream(server, reader_session, last_event_id=start.pk - 1)
    caught_up(mine, start)
    caught_up(theirs, start)
    assert wait_until(lambda: hub_of(server).presence() == {typist.pk: 1, reader.pk: 1}, timeout=5)
    assert {typist.pk: 1, reader.pk: 1}.items() <= hub.presence().items()  # the process's view: every hub

    presence_signal(lead_id=lead.pk, user=typist, state="typing")
    typing = theirs.events()
    assert typing["event"] == "presence" and "id" not in typing  # no id: it never becomes a resume point
    assert f'"lead_id": "{lead.pk}"' in typing["data"] and '"name": "typist"' in typing["data"]
    assert '"state": "typing"' in typing["data"]
    assert mine.nothing_within(0.5)  # not echoed to the typist
    assert not Event.objects.filter(type__in=["typing", "presence"]).exists()
    theirs.close()
    assert wait_until(lambda: hub_of(server).presence() == {typist.pk: 1}, timeout=5)

    again = open_stream(server, reader_session, last_event_id=start.pk)
    assert again.nothing_within(0.5)
    again.close()
    mine.close()


def test_keepalive_then_the_stream_ends_so_the_page_reconnects(server, session_for, monkeypatch):
    monkeypatch.setattr(views, "KEEPALIVE_SECONDS", 0.2)
    monkeypatch.setattr(views, "STREAM_SECONDS", 1.0)
    _, session = session_for("agent")
    stream = open_stream(server, session)
    assert stream.next(timeout=2) == {"comment": "keepalive"}
    assert stream.ended.wait(timeout=3)
    stream.close()


def test_a_resume_point_before_pruned_events_gets_410_and_the_oldest_valid_cursor(server, session_for):
    import datetime
    import json

    from django.utils import timezone

    from notifications.services import events_prune

    _, session = session_for("agent")
    old = [event_new_message(message=InboundMessageFactory(body=f"eski {n}")) for n in range(3)]
    kept = event_new_message(message=InboundMessageFactory(body="yeni"))
    Event.objects.filter(pk__in=[e.pk for e in old]).update(created_at=timezone.now() - datetime.timedelta(days=30))
    events_prune(older_than=datetime.timedelta(days=7))
    for headers, path in (({"Last-Event-ID": str(old[0].pk - 1)}, URL), ({}, f"{URL}?cursor={old[1].pk}")):
        connection_ = http.client.HTTPConnection(server.host, server.port, timeout=10)
        connection_.request("GET", path, headers={"Cookie": f"sessionid={session}", **headers})
        response = connection_.getresponse()
        assert response.status == 410  # EventSource does not retry after it: the page starts again (inbox.js)
        error = json.loads(response.read())["error"]
        assert (error["code"], error["oldest_cursor"], error["cursor"]) == ("cursor_pruned", old[-1].pk, kept.pk)
        connection_.close()
    stream = open_stream(server, session, last_event_id=old[-1].pk)  # the oldest valid cursor: nothing missing
    caught_up(stream, kept)
    stream.close()


API_URL = "/api/v1/events/stream"


def get(server, path, headers) -> http.client.HTTPResponse:
    connection_ = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection_.request("GET", path, headers=headers)
    return connection_.getresponse()


def test_a_token_client_streams_at_the_api_path_and_the_pages_path(server, user_in_role):
    from accounts.roles import AGENTS
    from accounts.services import api_token_create

    _, secret = api_token_create(user=user_in_role("integration", AGENTS), name="sync")
    before = event_new_message(message=InboundMessageFactory(body="önce"))
    for path in (API_URL, URL):
        stream = open_stream(server, None, before.pk - 1, path=path, headers={"Authorization": f"Bearer {secret}"})
        caught_up(stream, before)
        live = event_new_message(message=InboundMessageFactory(body=f"canlı {path}"))
        message = stream.events()
        assert message["id"] == str(live.pk) and f"canlı {path}" in message["data"]
        stream.close()
        before = live


def test_the_stream_refuses_as_the_api_does_for_tokens_and_under_api(server, user_in_role, django_user_model):
    import json

    from accounts.roles import AGENTS
    from accounts.services import api_token_create, api_token_revoke

    def refusal(path, **headers):
        response = get(server, path, headers)
        body = response.read()
        return response.status, response.getheader("WWW-Authenticate"), json.loads(body)["error"]["code"]

    assert refusal(API_URL) == (401, "Bearer", "not_authenticated")  # not a login redirect
    assert refusal(URL, Authorization="Bearer hcrm_" + "0" * 64) == (401, "Bearer", "authentication_failed")
    assert refusal(API_URL, Authorization="Bearer") == (401, "Bearer", "authentication_failed")
    agent = user_in_role("agent", AGENTS)
    revoked, revoked_secret = api_token_create(user=agent, name="old")
    api_token_revoke(token=revoked)
    assert refusal(URL, Authorization=f"Bearer {revoked_secret}")[0] == 401
    _, secret = api_token_create(user=agent, name="sync")
    nobody = django_user_model.objects.create_user(username="nobody", is_staff=True)
    _, nobodys = api_token_create(user=nobody, name="x")
    assert refusal(API_URL, Authorization=f"Bearer {nobodys}") == (403, None, "permission_denied")
    client = Client()
    client.force_login(nobody)
    session = client.cookies["sessionid"].value
    assert refusal(API_URL, Cookie=f"sessionid={session}") == (403, None, "permission_denied")
    agent.is_active = False
    agent.save()
    assert refusal(API_URL, Authorization=f"Bearer {secret}")[0] == 401


def test_a_lead_created_event_is_a_named_event_the_pages_do_not_listen_to(server, session_for):
    """Recorded for the outbound webhooks: a page's EventSource drops a named event it has no listener for (never
    `message`), and the event's id still moves the page's resume point on."""
    from pathlib import Path

    from django.conf import settings

    from leads.services import events_leads_created
    from leads.tests.factories import LeadFactory

    _, session = session_for("agent")
    lead = LeadFactory()
    stream = open_stream(server, session)
    settled(server)
    with transaction.atomic():
        events_leads_created(leads=[lead])
    created = Event.objects.get(type=Event.Type.LEAD_CREATED)
    message = stream.events()
    assert (message["id"], message["event"]) == (str(created.pk), "lead_created")
    stream.close()
    script = (Path(settings.BASE_DIR) / "messaging/inbox/static/inbox/js/inbox.js").read_text()
    assert 'on("lead_created"' not in script and "onmessage" not in script
