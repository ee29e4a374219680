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


@pytest.mark.slow
@pytest.mark.parametrize("module", ["happycrm.wsgi", "happycrm.asgi"])
def test_the_web_and_stream_applications_do_not_start(tmp_path, module):
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    migrated = run(tmp_path, args=["manage.py", "migrate", "--no-input"], MESSAGE_ENCRYPTION_KEYS=KEY1, **database)
    assert migrated.returncode == 0, migrated.stderr
    # A process started with KEY1 (here `check`) recorded it as in use, as every starting process does.
    checked = run(tmp_path, args=["manage.py", "check"], MESSAGE_ENCRYPTION_KEYS=KEY1, **database)
    assert checked.returncode == 0, checked.stderr
    started = run(
        tmp_path,
        module="happycrm.settings.local",
        args=["-c", f"import {module}"],
        MESSAGE_ENCRYPTION_KEYS=KEY2,
        **database,
    )
    assert started.returncode != 0
    assert f"encryption.E002: Stored messages are encrypted under the key(s) {crypto.key_id(KEY1)}" in started.stderr
    fine = run(tmp_path, args=["-c", f"import {module}"], MESSAGE_ENCRYPTION_KEYS=f"{KEY2},{KEY1}", **database)
    assert fine.returncode == 0, fine.stderr
