import os
from urllib.parse import urlencode

import pytest

# The broker, a throwaway Redis and a worker for the tests that need a real task queue.
pytest_plugins = ["happycrm.tests.broker"]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test writes uploads to its own folder, never to the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="staff", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def user_in_role(django_user_model):
    """Make a user in one of the roles the migrations create ("Agents", "Operators")."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from accounts.roles import roles_sync

    def make(username, role, **fields):
        group = Group.objects.filter(name=role).first()
        if group is None:  # a transactional test's flush emptied what the migration wrote
            roles_sync(apps)
            group = Group.objects.get(name=role)
        user = django_user_model.objects.create_user(username=username, **fields)
        user.groups.add(group)
        return user

    return make


@pytest.fixture
def agent_client(client, user_in_role):
    """Logged in as an agent: the inbox, nothing of the admin."""
    from accounts.roles import AGENTS

    client.force_login(user_in_role("agent", AGENTS))
    return client


@pytest.fixture
def operator_client(client, user_in_role):
    """Logged in as an operator: the admin's everyday work, not a superuser."""
    from accounts.roles import OPERATORS

    client.force_login(user_in_role("operator", OPERATORS, is_staff=True))
    return client


@pytest.fixture
def twilio_settings(settings):
    from messaging.backends.twilio.tests.payloads import ACCOUNT_SID, AUTH_TOKEN

    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_VALIDATE_SIGNATURE = True
    settings.PUBLIC_BASE_URL = ""
    return settings


@pytest.fixture
def twilio(twilio_settings, django_capture_on_commit_callbacks):
    """The real Twilio backend against a local fake Twilio; queued sends run when the test commits."""
    from messaging.backends.twilio.tests.fake_server import FakeTwilio

    with FakeTwilio() as fake:
        twilio_settings.MESSAGING_BACKEND = "messaging.backends.twilio.TwilioBackend"
        twilio_settings.TWILIO_API_BASE_URL = fake.base_url
        twilio_settings.TWILIO_PHONE_NUMBER = "+14155238886"
        twilio_settings.TWILIO_MESSAGING_SERVICE_SID = ""
        twilio_settings.PUBLIC_BASE_URL = "https://crm.example.com"
        fake.commit = lambda: django_capture_on_commit_callbacks(execute=True)
        yield fake


@pytest.fixture
def outbox():
    """What the locmem backend "sent", empty at the start of the test."""
    from messaging.backends import locmem

    locmem.outbox.clear()
    return locmem.outbox


@pytest.fixture
def run_sweep(django_capture_on_commit_callbacks):
    """Run messaging's periodic sweep and what it queues (Celery is eager in tests)."""
    from messaging.services.webhooks import webhook_events_sweep

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return webhook_events_sweep()

    return run


@pytest.fixture
def post_webhook(client, twilio_settings, django_capture_on_commit_callbacks):
    """POST a payload to the webhook signed as Twilio would, running what it queues (Celery is eager in tests)."""
    from messaging.backends.twilio.tests.payloads import WEBHOOK_PATH, sign

    def post(payload, *, signature=None, path=WEBHOOK_PATH, signed_url=None, **headers):
        if signature is None:
            signature = sign(signed_url or f"http://testserver{path}", payload)
        if signature:
            headers["HTTP_X_TWILIO_SIGNATURE"] = signature
        body = urlencode(payload, doseq=True)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, body, content_type="application/x-www-form-urlencoded", **headers)

    return post


@pytest.fixture(autouse=True)
def _default_stage_after_flush(request):
    """Transactional tests empty the database between tests, the starter pipeline included: put the default
    stage back, as the data migration made it. After a live-server test, wait for the server's requests first."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")) and "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    from leads.models import Stage

    Stage.objects.get_or_create(is_default=True, defaults={"name": "New"})
    yield
    if "live_server" in request.fixturenames:
        # The test's pages are closed by now; their last requests finish before the flush empties the tables.
        request.getfixturevalue("live_server").wait_idle()


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, served by uvicorn (ASGI) instead of a WSGI thread: the pages' live stream
    never ends, and only an ASGI server serves it while it waits. Static files are served as before."""
    from happycrm.tests.asgi_server import AsgiServer

    with AsgiServer() as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright (see happycrm/tests/browser.py for the marks browser tests carry)."""
    from playwright.sync_api import sync_playwright

    from happycrm.tests.browser import ARGS, CHROMIUM

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs beside the ORM calls of the test
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
