import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.tests.factories import LeadFactory, StageFactory
from messaging.models import Message
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

INBOX = reverse("inbox:index")


@pytest.fixture
def agent(agent_client):
    """A member of the Agents group (conftest.py)."""
    return agent_client


def conversation_with(lead, *bodies, hours_ago=1):
    now = timezone.now()
    for n, body in enumerate(bodies):
        InboundMessageFactory(lead=lead, body=body, created_at=now - datetime.timedelta(hours=hours_ago, minutes=-n))
    lead_activity_refresh(lead=lead)
    return lead


def test_pages_need_a_login_and_agents_never_reach_the_admin(agent):
    lead = LeadFactory()
    for url in (INBOX, reverse("inbox:conversation", args=[lead.pk])):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert agent.get("/admin/").status_code == 302
    assert agent.get(INBOX).status_code == 200
    assert Client().get("/accounts/login/").status_code == 200
    assert agent.post("/accounts/logout/").status_code == 302
    assert agent.get(INBOX).status_code == 302


def test_inbox_lists_conversations_latest_first_with_unread_badges(agent):
    old = conversation_with(LeadFactory(name="Eski"), "eski mesaj", hours_ago=5)
    new = conversation_with(LeadFactory(name="Yeni"), "merhaba", "fiyat?", hours_ago=1)
    LeadFactory(name="Sessiz")  # no messages: not a conversation
    page = agent.get(INBOX).content.decode()
    assert page.index("Yeni") < page.index("Eski")
    assert "Sessiz" not in page
    assert 'aria-label="unread messages">2<' in page
    assert "fiyat?" in page
    assert old.pk and new.pk


@pytest.mark.parametrize("query", ["0555 123 45 67", "whatsapp:+905551234567", "Ayşe", "vejetaryen"])
def test_inbox_search_by_name_phone_in_any_form_or_text(agent, query, settings):
    settings.MESSAGE_ENCRYPTION_KEYS = []  # text is searched only unencrypted (encryption's tests: not while on)
    conversation_with(LeadFactory(name="Ayşe Yılmaz", phone="+905551234567"), "Menüde vejetaryen var mı?")
    conversation_with(LeadFactory(name="Mehmet", phone="+905321112233"), "Merhaba")
    response = agent.get(INBOX, {"q": query}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body  # the fragment only
    assert "Ayşe Yılmaz" in body and "Mehmet" not in body


def test_inbox_filters(agent):
    stage = StageFactory(name="Teklif")
    unread = conversation_with(LeadFactory(name="Okunmamış", stage=stage), "x")
    read = LeadFactory(name="Okunmuş")
    MessageFactory(lead=read, channel="sms", is_starred=True)
    lead_activity_refresh(lead=read)
    assert "Okunmuş" not in agent.get(INBOX, {"unread": "1"}).content.decode()
    assert "Okunmamış" not in agent.get(INBOX, {"starred": "1"}).content.decode()
    assert "Okunmuş" not in agent.get(INBOX, {"stage": str(stage.pk)}).content.decode()
    sms = agent.get(INBOX, {"channel": "sms"}).content.decode()
    assert "Okunmuş" in sms and "Okunmamış" not in sms
    assert unread.pk


def test_inbox_query_count_does_not_grow_with_rows(agent, django_assert_max_num_queries):
    for n in range(25):
        conversation_with(LeadFactory(), f"mesaj {n}")
    # The session, the user, the permissions (two reads, not cached yet), the page's count, rows and their labels, the
    # stages, the labels, the views' counts and the unseen mentions', the agents to assign to.
    with django_assert_max_num_queries(12):
        response = agent.get(INBOX)
    assert response.content.decode().count('<li class="conversation') == 25


def test_opening_a_conversation_marks_it_read_and_escapes_everything(agent):
    lead = conversation_with(LeadFactory(name="<b>Kötü</b>"), "<script>alert('x')</script>", "ikinci")
    page = agent.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "&lt;b&gt;Kötü&lt;/b&gt;" in page
    lead.refresh_from_db()
    assert lead.unread_count == 0
    assert not Message.objects.filter(lead=lead, is_read=False).exists()


def test_older_messages_load_in_pages(agent):
    lead = LeadFactory()
    now = timezone.now()
    messages = [
        MessageFactory(lead=lead, body=f"mesaj {n:02d}", created_at=now - datetime.timedelta(minutes=45 - n))
        for n in range(45)
    ]
    url = reverse("inbox:conversation", args=[lead.pk])
    page = agent.get(url).content.decode()
    assert "mesaj 44" in page and "mesaj 15" in page and "mesaj 14" not in page
    oldest_shown = messages[15]
    older = agent.get(url, {"before": str(oldest_shown.pk)}, HTTP_HX_REQUEST="true").content.decode()
    assert "mesaj 14" in older and "mesaj 00" in older and "mesaj 15" not in older
    assert "<html" not in older


def test_send_from_the_composer(agent, django_capture_on_commit_callbacks):
    lead = conversation_with(LeadFactory(phone="+905551234567"), "merhaba")
    url = reverse("inbox:send", args=[lead.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = agent.post(url, {"body": "Merhaba, nasıl yardımcı olabilirim?"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Merhaba, nasıl yardımcı olabilirim?" in response.content.decode()
    message = Message.objects.get(is_from_lead=False)
    assert message.sent_by.username == "agent" and message.twilio_message_sid


def test_a_refused_send_shows_the_reason_in_the_composer(agent):
    lead = LeadFactory()  # never wrote: the WhatsApp window is closed
    response = agent.post(reverse("inbox:send", args=[lead.pk]), {"body": "Merhaba"}, HTTP_HX_REQUEST="true")
    assert response["HX-Retarget"] == "#composer-error"
    assert "24 hours" in response.content.decode()
    assert not Message.objects.exists()
    page = agent.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert 'id="window-closed"' in page and "Send a template" in page


def test_template_from_the_picker_with_preview(agent, django_capture_on_commit_callbacks):
    lead = LeadFactory(name="Can", event_date=datetime.date(2026, 12, 5))
    template = TemplateFactory(content="Merhaba {{1}}, {{2}} için kodunuz {{4}}")
    preview = agent.get(reverse("inbox:preview", args=[lead.pk]), {"template": str(template.pk)}).content.decode()
    assert "Merhaba Can, 12/05/2026 için kodunuz {{4}}" in preview and "Missing" in preview
    with django_capture_on_commit_callbacks(execute=True):
        response = agent.post(
            reverse("inbox:send", args=[lead.pk]),
            {"send-template": "1", "template": str(template.pk), "param-4": "K-1", "body": ""},
            HTTP_HX_REQUEST="true",
        )
    assert "Merhaba Can, 12/05/2026 için kodunuz K-1" in response.content.decode()


def test_star_and_edit_the_lead_in_place(agent):
    lead = conversation_with(LeadFactory(), "yıldızla beni")
    message = Message.objects.get()
    response = agent.post(reverse("inbox:star", args=[lead.pk, message.pk]), HTTP_HX_REQUEST="true")
    assert "★" in response.content.decode()
    message.refresh_from_db()
    assert message.is_starred

    url = reverse("inbox:lead-details", args=[lead.pk])
    data = {
        "name": "Yeni Ad",
        "email": "",
        "stage": str(lead.stage_id),
        "event_date": "2026-12-05",
        "event_time": "19:30",
        "location": "Beşiktaş",
    }
    assert "Saved." in agent.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    lead.refresh_from_db()
    assert (lead.name, lead.location, lead.event_time) == ("Yeni Ad", "Beşiktaş", datetime.time(19, 30))
    bad = agent.post(url, {**data, "event_date": "yarın"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Enter a valid date" in bad


def test_opted_out_lead_shows_a_banner_and_no_composer(agent):
    lead = conversation_with(LeadFactory(opted_out_at=timezone.now()), "STOP")
    page = agent.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert "opted out" in page and 'id="opted-out"' in page
    # The composer is there but hidden, so the page can offer it again when the lead sends START.
    assert '<div class="compose-row" hidden>' in page
    assert '<details class="templates" id="composer-templates" hidden>' in page


def test_a_live_bubble_fetched_by_the_open_conversation_is_read(agent):
    lead = conversation_with(LeadFactory(), "yeni geldi")
    message = Message.objects.get()
    response = agent.get(reverse("inbox:bubble", args=[lead.pk, message.pk]), HTTP_HX_REQUEST="true")
    assert "yeni geldi" in response.content.decode() and "<html" not in response.content.decode()
    lead.refresh_from_db()
    message.refresh_from_db()
    assert message.is_read and lead.unread_count == 0


def test_unread_total_for_the_tab_title(agent):
    conversation_with(LeadFactory(), "bir", "iki")
    conversation_with(LeadFactory(), "üç")
    assert agent.get(reverse("inbox:unread")).json() == {"total": 3}


def test_the_inbox_time_is_short_and_the_full_time_is_on_hover(agent):
    now = timezone.localtime()
    cases = {
        "Bugün": now - datetime.timedelta(seconds=1),
        "Dün": now.replace(hour=12, minute=0) - datetime.timedelta(days=1),
        "Geçen hafta": now.replace(hour=12, minute=0) - datetime.timedelta(days=3),
        "Geçen yıl": now.replace(year=now.year - 1, month=3, day=9, hour=12, minute=0),
    }
    for name, when in cases.items():
        lead = LeadFactory(name=name)
        InboundMessageFactory(lead=lead, created_at=when)
        lead_activity_refresh(lead=lead)
    rows = agent.get(INBOX).content.decode()

    def shown(name):
        row = rows[rows.index(name) :]
        return row[row.index("<time") : row.index("</time>")]

    assert shown("Bugün").endswith(f">{cases['Bugün']:%H:%M}")
    assert shown("Dün").endswith(">Yesterday")
    assert shown("Geçen hafta").endswith(f">{cases['Geçen hafta']:%A}")
    assert shown("Geçen yıl").endswith(f">03/09/{now.year - 1}")
    assert f'title="March 9, {now.year - 1} 12:00"' in shown("Geçen yıl")


def test_a_value_box_for_every_placeholder_the_agent_fills(agent, django_capture_on_commit_callbacks):
    lead = conversation_with(LeadFactory(name="Can"), "merhaba")
    template = TemplateFactory(content="{{1}}: kod {{4}}, salon {{5}}, masa {{7}}", variables={"5": "Mavi"})
    url = reverse("inbox:preview", args=[lead.pk])
    boxes = agent.get(url, {"template": str(template.pk), "part": "values"}, HTTP_HX_REQUEST="true").content.decode()
    assert [f'name="param-{n}"' in boxes for n in (4, 5, 6, 7)] == [True, True, False, True]
    assert 'placeholder="{{5}} Mavi"' in boxes
    assert 'id="template-preview"' in boxes and 'hx-swap-oob="true"' in boxes and "Can: kod {{4}}" in boxes
    preview = agent.get(url, {"template": str(template.pk), "param-5": "Mavi"}, HTTP_HX_REQUEST="true")
    assert "Can: kod {{4}}, salon Mavi, masa {{7}}" in preview.content.decode()

    send = reverse("inbox:send", args=[lead.pk])
    data = {"send-template": "1", "template": str(template.pk), "param-4": "", "param-5": "Mavi", "param-7": "3"}
    refused = agent.post(send, data, HTTP_HX_REQUEST="true")
    assert refused.content.decode() == "The template needs a value for {{4}}."  # values stay in their places
    assert refused["HX-Reswap"] == "innerHTML"
    with django_capture_on_commit_callbacks(execute=True):
        agent.post(send, {**data, "param-4": "K-1"}, HTTP_HX_REQUEST="true")
    assert Message.objects.get(is_from_lead=False).body == "Can: kod K-1, salon Mavi, masa 3"


def test_a_phone_added_in_the_panel_and_a_duplicate_named(agent):
    from notifications.models import Event

    LeadFactory(name="Ayşe Yılmaz", phone="+905551234567")
    lead = LeadFactory(name="Telefonsuz", phone=None)
    page = agent.get(reverse("inbox:conversation", args=[lead.pk])).content.decode()
    assert 'id="no-phone"' in page and 'id="window-closed"' not in page
    assert '<div class="compose-row" hidden>' in page
    assert '<details class="templates" id="composer-templates" hidden>' in page

    url = reverse("inbox:lead-details", args=[lead.pk])
    data = {"name": lead.name, "phone": "0555 123 45 67", "stage": str(lead.stage_id)}
    taken = agent.post(url, data, HTTP_HX_REQUEST="true")
    assert "This phone number belongs to another lead: Ayşe Yılmaz." in taken.content.decode()
    assert "HX-Trigger" not in taken and not Event.objects.filter(type=Event.Type.LEAD_CHANGED).exists()
    lead.refresh_from_db()
    assert lead.phone is None

    saved = agent.post(url, {**data, "phone": "+90 555 987 65 43"}, HTTP_HX_REQUEST="true")
    assert "Saved." in saved.content.decode() and "conversation-changed" in saved["HX-Trigger"]
    assert 'value="+905559876543"' in saved.content.decode(), "the panel shows the number as stored"
    lead.refresh_from_db()
    assert lead.phone == "+905559876543"
    assert Event.objects.get(type=Event.Type.LEAD_CHANGED).payload == {"lead_id": str(lead.pk), "lead_name": lead.name}
    state = agent.get(reverse("inbox:conversation-state", args=[lead.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="no-phone"' not in state and 'id="window-closed"' in state and "+90 555 987 65 43" in state
    assert "The lead has not written yet" in state
    assert 'data-can-send="true"' in state and 'data-can-type="false"' in state


def test_the_conversation_state_says_what_the_composer_allows(agent):
    state_url = lambda lead: reverse("inbox:conversation-state", args=[lead.pk])  # noqa: E731
    open_lead = conversation_with(LeadFactory(name="Açık"), "merhaba", hours_ago=2)
    state = agent.get(state_url(open_lead)).content.decode()
    closes = timezone.localtime(open_lead.last_inbound_at + datetime.timedelta(hours=24))
    assert f'data-window-closes="{closes.isoformat()}"' in state
    assert 'data-can-type="true"' in state and 'id="window-closed"' not in state and "<h1>Açık</h1>" in state
    assert "Açık · Happy CRM" in state

    stopped = conversation_with(LeadFactory(opted_out_at=timezone.now()), "STOP")
    state = agent.get(state_url(stopped)).content.decode()
    assert 'id="opted-out"' in state and 'data-can-send="false"' in state and 'data-window-closes=""' in state

    by_sms = LeadFactory()
    InboundMessageFactory(lead=by_sms, channel="sms", created_at=timezone.now() - datetime.timedelta(days=3))
    lead_activity_refresh(lead=by_sms)
    state = agent.get(state_url(by_sms)).content.decode()
    assert "Replies go by SMS." in state and 'data-can-type="true"' in state  # no 24-hour window on SMS
    page = agent.get(reverse("inbox:conversation", args=[by_sms.pk])).content.decode()
    assert 'id="sms-notice"' in page and " autofocus></textarea>" in page


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/inbox/favicon.ico"
    from django.contrib.staticfiles import finders

    with open(finders.find("inbox/favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\0\0\1\0"  # an ICO file


def test_health_and_the_icon_answer_head_too(client):
    """Monitors check with HEAD."""
    assert client.head("/healthz").status_code == 200
    assert client.head("/favicon.ico").status_code == 302


def test_the_inbox_flags_a_conversation_whose_last_send_failed(agent):
    failed = conversation_with(LeadFactory(name="Başarısız"), "merhaba")
    MessageFactory(lead=failed, body="Teklifimiz ektedir", status="undelivered", error_code=30008)
    delivered = conversation_with(LeadFactory(name="Ulaştı"), "merhaba")
    MessageFactory(lead=delivered, body="Teşekkürler", status="delivered")
    for lead in (failed, delivered):
        lead_activity_refresh(lead=lead)
    rows = agent.get(INBOX, HTTP_HX_REQUEST="true").content.decode()
    flagged = rows.split(f'id="lead-{failed.pk}"')[1].split("</li>")[0]
    plain = rows.split(f'id="lead-{delivered.pk}"')[1].split("</li>")[0]
    assert 'class="tick failed" title="Not delivered"' in flagged
    assert "tick failed" not in plain
