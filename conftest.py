from urllib.parse import urlencode

import pytest


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
def twilio_settings(settings):
    from messaging.tests.twilio import ACCOUNT_SID, AUTH_TOKEN

    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_VALIDATE_SIGNATURE = True
    settings.PUBLIC_BASE_URL = ""
    return settings


@pytest.fixture
def post_webhook(client, twilio_settings, django_capture_on_commit_callbacks):
    """POST a payload to the webhook signed as Twilio would, running what it queues (Celery is eager in tests)."""
    from messaging.tests.twilio import WEBHOOK_PATH, sign

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
    stage back, as the data migration made it."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")) and "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from leads.models import Stage

    Stage.objects.get_or_create(is_default=True, defaults={"name": "New"})
