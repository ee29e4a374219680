"""The attachment race with real row locks (PostgreSQL): an erasure that starts while a fetch is writing the file
waits for it, then removes that file too."""

import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from messaging.models import MessageMedia
from messaging.services import media as media_service
from messaging.services.media import media_fetch
from privacy.services import Requester, lead_erase

from .factories import JPEG, full_lead

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
    ),
]


def test_an_erasure_during_a_fetch_waits_for_it_and_removes_its_file(admin_user, monkeypatch):
    lead, messages, _ = full_lead()
    pending = MessageMedia.objects.create(message=messages[0], position=1, source_url="https://x/ME1")
    monkeypatch.setattr(media_service, "_download", lambda url, backend: (JPEG, "image/jpeg"))
    written, release = threading.Event(), threading.Event()
    field_file = type(pending.file)
    real_save = field_file.save

    def save_and_hold(self, name, content, save=True):
        real_save(self, name, content, save=save)
        written.set()
        release.wait(timeout=10)  # the row stays locked while the fetch is mid-write

    monkeypatch.setattr(field_file, "save", save_and_hold)
    errors = []

    def in_thread(function):
        def run():
            try:
                function()
            except Exception as exc:
                errors.append(exc)
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    fetch = in_thread(lambda: media_fetch(media_id=pending.pk))
    assert written.wait(timeout=10)
    erase = in_thread(lambda: lead_erase(lead=lead, requester=Requester.admin(admin_user)))
    time.sleep(0.5)
    assert erase.is_alive(), "the erasure waits for the attachment's lock"
    release.set()
    fetch.join(timeout=30)
    erase.join(timeout=30)
    assert errors == []
    assert not MessageMedia.objects.exists()
    assert [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] == [], "the file the fetch wrote is gone too"
