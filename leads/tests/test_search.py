"""Search ignores case and accents, Turkish included, on SQLite and PostgreSQL alike (issue 9, point 18)."""

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.services import campaign_create
from happycrm.search import fill_folded_column, fold
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.inbox.selectors import inbox_leads
from messaging.models import Message
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _message_text_unencrypted(settings):
    """Message text is searched only while it is stored unencrypted (encryption's tests cover it encrypted)."""
    settings.MESSAGE_ENCRYPTION_KEYS = []


INBOX = reverse("inbox:index")
LEADS = reverse("admin:leads_lead_changelist")
MESSAGES = reverse("admin:messaging_message_changelist")
ISSUE_EXAMPLES = ["AYŞE", "ayse", "yilmaz", "fotografci"]


@pytest.fixture
def ayse():
    lead = LeadFactory(name="Ayşe Yılmaz", phone="+905551234567")
    InboundMessageFactory(lead=lead, body="Düğün için fotoğrafçı arıyoruz")
    lead_activity_refresh(lead=lead)
    other = LeadFactory(name="Mehmet Demir", phone="+905321112233")
    InboundMessageFactory(lead=other, body="Merhaba, fiyat alabilir miyim?")
    lead_activity_refresh(lead=other)
    return lead


@pytest.fixture(params=["rare words", "common words"])
def both_plans(request, monkeypatch):
    """Run a test with words found rarely (narrowed to a list of ids first) and as if found everywhere (conditions)."""
    if request.param == "common words":
        monkeypatch.setattr("leads.selectors.SELECTIVE", 0)
    return request.param


def inbox_names(client, query):
    response = client.get(INBOX, {"q": query}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return [lead.name for lead in response.context["rows"]]


def admin_rows(client, url, query):
    response = client.get(url, {"q": query})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("AYŞE", "ayse"),
        ("Ayşe", "ayse"),
        ("YILMAZ", "yilmaz"),
        ("Yılmaz", "yilmaz"),
        ("fotoğrafçı", "fotografci"),
        ("İSTANBUL", "istanbul"),
        ("IŞIK ılık", "isik ilik"),
        ("Çağrı  Öztürk\n", "cagri ozturk"),
        ("Straße", "strasse"),
        ("nul\x00byte", "nulbyte"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize("query", [*ISSUE_EXAMPLES, "Ayşe", "  ayşe  YILMAZ ", "yılmaz ayse", "FOTOĞRAFÇI"])
def test_inbox_search_ignores_case_and_accents(staff_client, both_plans, ayse, query):
    assert inbox_names(staff_client, query) == ["Ayşe Yılmaz"]
    page = staff_client.get(INBOX, {"q": query}).content.decode()
    assert "Ayşe Yılmaz" in page and "Mehmet Demir" not in page


@pytest.mark.parametrize("query", [*ISSUE_EXAMPLES, "Ayşe"])
def test_lead_admin_search_ignores_case_and_accents(staff_client, both_plans, ayse, query):
    assert [lead.name for lead in admin_rows(staff_client, LEADS, query)] == ["Ayşe Yılmaz"]


@pytest.mark.parametrize("query", [*ISSUE_EXAMPLES, "Ayşe"])
def test_message_admin_search_ignores_case_and_accents(staff_client, both_plans, ayse, query):
    rows = admin_rows(staff_client, MESSAGES, query)
    assert [message.lead.name for message in rows] == ["Ayşe Yılmaz"]
    if query == "fotografci":
        assert rows[0].body == "Düğün için fotoğrafçı arıyoruz"


def test_every_word_must_match_somewhere(staff_client, both_plans, ayse):
    assert inbox_names(staff_client, "ayse fotografci") == ["Ayşe Yılmaz"]  # the name and a message
    assert inbox_names(staff_client, "ayse fiyat") == []  # "fiyat" is only in Mehmet's messages
    assert inbox_names(staff_client, "mehmet fiyat") == ["Mehmet Demir"]


def test_short_words_search_names_only(staff_client, both_plans, ayse):
    InboundMessageFactory(lead=ayse, body="ok")
    assert inbox_names(staff_client, "ok") == []  # two letters: not in the messages' text
    assert inbox_names(staff_client, "ay") == ["Ayşe Yılmaz"]  # but in names


@pytest.mark.parametrize("query", ["0555 123 45 67", "whatsapp:+905551234567", "905551234567", "555 123 45"])
def test_phone_search_still_works_everywhere(staff_client, ayse, query):
    assert inbox_names(staff_client, query) == ["Ayşe Yılmaz"]
    assert [lead.name for lead in admin_rows(staff_client, LEADS, query)] == ["Ayşe Yılmaz"]
    assert {message.lead.name for message in admin_rows(staff_client, MESSAGES, query)} == {"Ayşe Yılmaz"}


def test_message_admin_finds_a_sid(staff_client, ayse):
    message = ayse.messages.get()
    assert admin_rows(staff_client, MESSAGES, message.twilio_message_sid) == [message]


def test_lead_admin_still_searches_email_and_location(staff_client):
    LeadFactory(name="Zeynep Kaya", email="zeynep@example.com", location="Kadıköy")
    LeadFactory(name="Can Öztürk", location="Bornova")
    assert [lead.name for lead in admin_rows(staff_client, LEADS, "example.com")] == ["Zeynep Kaya"]
    assert [lead.name for lead in admin_rows(staff_client, LEADS, "Kadıköy")] == ["Zeynep Kaya"]
    assert [lead.name for lead in admin_rows(staff_client, LEADS, "OZTURK")] == ["Can Öztürk"]


def test_campaign_messages_made_in_bulk_are_searchable(staff_client, django_capture_on_commit_callbacks):
    lead = LeadFactory(name="Kampanya Alıcısı")
    InboundMessageFactory(lead=lead, body="Merhaba")
    lead_activity_refresh(lead=lead)  # a conversation in the inbox
    template = TemplateFactory(content="Düğün fotoğrafçısı kampanyası: {{4}}")
    with django_capture_on_commit_callbacks(execute=True):
        campaign_create(name="Bahar", template=template, leads=[lead], parameters=["İNDİRİM"])
    message = Message.objects.get(lead=lead, is_from_lead=False)
    assert message.search_body == fold(message.body) and "fotografcisi" in message.search_body
    assert inbox_names(staff_client, "FOTOGRAFCISI indirim") == ["Kampanya Alıcısı"]
    assert [m.lead.name for m in admin_rows(staff_client, MESSAGES, "fotoğrafçısı")] == ["Kampanya Alıcısı"]


def test_bulk_create_folds_too(staff_client, ayse):
    Message.objects.bulk_create([Message(lead=ayse, body="Nişan TÖRENİ"), Message(lead=ayse, body="Kına gecesi")])
    assert set(Message.objects.filter(lead=ayse).values_list("search_body", flat=True)) == {
        "dugun icin fotografci ariyoruz",
        "nisan toreni",
        "kina gecesi",
    }
    assert inbox_names(staff_client, "toren") == ["Ayşe Yılmaz"]


def test_renaming_a_lead_updates_the_folded_name(staff_client, ayse):
    url = reverse("inbox:lead-details", args=[ayse.pk])
    response = staff_client.post(url, {"name": "Şükrü Işık", "stage": ayse.stage_id}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert inbox_names(staff_client, "sukru isik") == ["Şükrü Işık"]
    assert inbox_names(staff_client, "yilmaz") == []

    ayse.refresh_from_db()
    ayse.name = "Gülşen Çelik"
    ayse.save(update_fields=["name"])  # a partial save names the folded column too
    assert Lead.objects.get(pk=ayse.pk).search_name == "gulsen celik"
    assert [lead.name for lead in admin_rows(staff_client, LEADS, "GULSEN")] == ["Gülşen Çelik"]


def test_search_query_count_does_not_grow_with_rows(staff_client, django_assert_max_num_queries):
    for n in range(40):
        lead = LeadFactory(name=f"Ayşe {n}")
        InboundMessageFactory(lead=lead, body="fotoğrafçı lazım")
        lead_activity_refresh(lead=lead)
    for url, expected in ((INBOX, 12), (LEADS, 12), (MESSAGES, 12)):
        with django_assert_max_num_queries(expected):
            response = staff_client.get(url, {"q": "AYSE fotografci"})
        assert response.status_code == 200 and "Ayşe 39" in response.content.decode()


def test_the_migration_fills_existing_rows(ayse):
    """What the data migration does for rows written before the folded columns existed (several batches)."""
    MessageFactory.create_batch(4, lead=ayse, body="Çiçekçi İLE görüştük")
    Lead.objects.update(search_name="")
    Message.objects.update(search_body="")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    fill_folded_column("leads", "Lead", "search_name", batch=1)(apps, editor)
    fill_folded_column("messaging", "Message", "search_body", batch=2)(apps, editor)
    assert sorted(Lead.objects.values_list("search_name", flat=True)) == ["ayse yilmaz", "mehmet demir"]
    assert Message.objects.filter(search_body="cicekci ile gorustuk").count() == 4
    assert Message.objects.filter(search_body="").count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes exist on PostgreSQL only")
def test_postgresql_answers_word_searches_from_the_trigram_indexes(ayse, monkeypatch):
    def plans(run):
        with connection.cursor() as cursor:
            # Tiny tables would be scanned anyway: with scans and plain index walks off, can the indexes serve?
            cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off")
            try:
                with CaptureQueriesContext(connection) as queries:
                    run()
                text = ""
                for query in queries.captured_queries:
                    cursor.execute("EXPLAIN " + query["sql"])
                    text += "\n".join(row[0] for row in cursor.fetchall())
            finally:
                cursor.execute("RESET enable_seqscan; RESET enable_indexscan; RESET enable_indexonlyscan")
        return text

    # A rare word: looked up first (names and messages, one index each), then the page is a list of ids.
    plan = plans(lambda: list(inbox_leads(query="fotografci")))
    assert "message_search_body_trgm" in plan and "lead_search_name_trgm" in plan
    # A word found everywhere: one query, whose message part is still the index, not a scan per lead.
    monkeypatch.setattr("leads.selectors.SELECTIVE", 0)
    plan = plans(lambda: list(inbox_leads(query="fotografci")))
    assert "message_search_body_trgm" in plan and "Seq Scan on messaging_message" not in plan
