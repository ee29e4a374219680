"""The refusal to start, as the shipped processes start: with rows under a key MESSAGE_ENCRYPTION_KEYS lacks."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from encryption.services import key_in_use_record
from happycrm import crypto
from happycrm.startup import startup_checks_run
from happycrm.tests.test_settings import run

KEY1 = Fernet.generate_key().decode()
KEY2 = Fernet.generate_key().decode()


@pytest.mark.django_db
def test_startup_checks_refuse_a_key_in_use_that_is_not_configured(settings):
    settings.MESSAGE_ENCRYPTION_KEYS = [KEY2]
    startup_checks_run()
    key_in_use_record(key_id=crypto.key_id(KEY1))
    with pytest.raises(ImproperlyConfigured, match=f"encryption.E002: .*{crypto.key_id(KEY1)}"):
        startup_checks_run()
    settings.MESSAGE_ENCRYPTION_KEYS = [KEY2, KEY1]
    startup_checks_run()


def migrated_with_key_in_use(tmp_path) -> dict:
    """A database whose stored messages are under KEY1: a process started with it (here `check`) recorded so."""
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    migrated = run(tmp_path, args=["manage.py", "migrate", "--no-input"], MESSAGE_ENCRYPTION_KEYS=KEY1, **database)
    assert migrated.returncode == 0, migrated.stderr
    checked = run(tmp_path, args=["manage.py", "check"], MESSAGE_ENCRYPTION_KEYS=KEY1, **database)
    assert checked.returncode == 0, checked.stderr
    return database


REFUSAL = f"encryption.E002: Stored messages are encrypted under the key(s) {crypto.key_id(KEY1)}"


@pytest.mark.slow
def test_the_web_application_does_not_start(tmp_path):
    database = migrated_with_key_in_use(tmp_path)
    started = run(tmp_path, args=["-c", "import happycrm.wsgi"], MESSAGE_ENCRYPTION_KEYS=KEY2, **database)
    assert started.returncode != 0
    assert REFUSAL in started.stderr
    fine = run(tmp_path, args=["-c", "import happycrm.wsgi"], MESSAGE_ENCRYPTION_KEYS=f"{KEY2},{KEY1}", **database)
    assert fine.returncode == 0, fine.stderr


STREAM = """
import asyncio, sys
from happycrm.asgi import application

async def main():
    sent = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    await application({"type": "lifespan"}, receive, send)
    print(sent[0]["type"], sent[0].get("message", ""))

asyncio.run(main())
"""


@pytest.mark.slow
def test_the_stream_application_fails_its_startup(tmp_path):
    """uvicorn exits when the lifespan's startup fails; the check runs there, off the event loop's thread."""
    database = migrated_with_key_in_use(tmp_path)
    started = run(tmp_path, args=["-c", STREAM], MESSAGE_ENCRYPTION_KEYS=KEY2, **database)
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("lifespan.startup.failed ")
    assert REFUSAL in started.stdout
    fine = run(tmp_path, args=["-c", STREAM], MESSAGE_ENCRYPTION_KEYS=f"{KEY2},{KEY1}", **database)
    assert fine.stdout.strip() == "lifespan.startup.complete", fine.stderr
