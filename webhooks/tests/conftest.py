import datetime

import pytest

from webhooks import services

from .receiver import Receiver


@pytest.fixture(autouse=True)
def _no_gap_wait(monkeypatch):
    """The dispatcher waits for a recent gap in the event ids to fill; on PostgreSQL a test's first event follows
    ids that earlier tests rolled back, so the tests read past gaps at once (one test sets the wait)."""
    monkeypatch.setattr(services, "GAP_WAIT", datetime.timedelta(0))


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with Receiver() as fake:
        yield fake
