"""The API fuzzed against its own live schema (schemathesis, the CLI users run): every operation of /api/v1/, with
a token, with valid and invalid input. No input may give a server error, and no answer may break the schema (its
status, content type, headers and body as documented)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from accounts.services import api_token_create
from messaging.backends.base import ProviderTemplate
from messaging.backends.locmem import LocmemBackend

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Checks that judge our answers; those that need a second identity or fixed expectations of the data are left to
# the tests of each resource (object-level authorization, positive data always accepted).
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "ignored_auth",
        "use_after_free",
        "ensure_resource_availability",
    ]
)
EXAMPLES = 25  # per operation and phase; CI's budget


class CatalogueBackend(LocmemBackend):
    """The test backend with a template catalogue, so that syncing templates is fuzzed past the provider."""

    has_template_catalogue = True

    def templates(self):
        return [ProviderTemplate(sid="HX" + "1" * 32, name="welcome", content="Merhaba {{1}}", language="tr")]


@pytest.fixture
def data(django_user_model):
    """A superuser's token and a little of everything, so that operations find rows to work on."""
    from conversations.services import note_add
    from conversations.tests.factories import ConversationFactory
    from leads.tests.factories import LabelFactory, LeadFactory
    from messaging.tests.factories import InboundMessageFactory
    from templates_app.models import CannedReply
    from templates_app.tests.factories import TemplateFactory

    user = django_user_model.objects.create_superuser(username="fuzz", email="fuzz@example.com", password="x")
    lead = LeadFactory(phone="+905551234567")
    InboundMessageFactory.create_batch(3, lead=lead)
    TemplateFactory()
    ConversationFactory(lead=lead)
    lead.labels.add(LabelFactory(name="VIP"))
    note_add(lead=lead, author=user, body="@fuzz a note")
    CannedReply.objects.create(shortcut="fiyat", text="Merhaba {{1}}")
    CannedReply.objects.create(shortcut="adres", text="Adresimiz", owner=user)
    return api_token_create(user=user, name="fuzz")[1]


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(live_server, data, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "API_THROTTLE_TOKEN", "")  # thousands of requests: a 429 would hide the answers
    monkeypatch.setattr(settings, "API_THROTTLE_USER", "")
    monkeypatch.setattr(settings, "MESSAGING_BACKEND", f"{__name__}.CatalogueBackend")
    report = tmp_path / "report.json"
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{live_server.url}/api/v1/schema/?format=json",
            "--header",
            f"Authorization: Bearer {data}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES),
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--seed",
            "13",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # its own files (a cache of what it found) stay out of the project
        timeout=1200,
        check=False,
    )
    print(run.stdout[-3000:])  # the figures (operations, cases, failures) for whoever reads the CI log
    assert run.returncode == 0, run.stdout[-60000:] + run.stderr[-3000:]
    assert json.loads(report.read_text())
