"""The team inbox in a real browser (Debian's chromium): the split view on a desktop and a phone, and two agents
in two browser contexts seeing each other's assignment and status changes live."""

import datetime
import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import AGENTS
from conversations.models import Conversation
from happycrm.tests.browser import MARKS as BROWSER_MARKS
from happycrm.tests.browser import logged_in_page
from leads.tests.factories import LeadFactory
from messaging.services.messages import lead_activity_refresh
from messaging.tests.factories import InboundMessageFactory

pytestmark = BROWSER_MARKS
PASSWORD = "browser-test-password"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
DESKTOP = {"width": 1400, "height": 860}
PHONE = {"width": 390, "height": 844}
ACTIVE = re.compile(r"\bactive\b")


def talking_lead(name: str, phone: str, *bodies: str, minutes_ago: int = 5):
    lead = LeadFactory(name=name, phone=phone)
    now = timezone.now()
    for n, body in enumerate(bodies):
        InboundMessageFactory(lead=lead, body=body, created_at=now - datetime.timedelta(minutes=minutes_ago - n))
    lead_activity_refresh(lead=lead)  # its conversation opens, as the webhook's would
    return lead


@pytest.fixture
def team(user_in_role):
    return (
        user_in_role("ayse", AGENTS, first_name="Ayşe", password=PASSWORD),
        user_in_role("deniz", AGENTS, first_name="Deniz", password=PASSWORD),
    )


@pytest.fixture
def leads():
    return [
        talking_lead("Elif Kaya", "+905551110001", "Merhaba, düğün için fiyat alabilir miyim?", minutes_ago=3),
        talking_lead("Mert Demir", "+905551110002", "Salon 12 Haziran'da boş mu?", minutes_ago=9),
        talking_lead("Zeynep Ak", "+905551110003", "Teşekkürler!", minutes_ago=30),
    ]


def test_the_split_view_keeps_the_list_while_conversations_change_and_follows_back_and_forward(
    browser, live_server, team, leads
):
    elif_, mert, _ = leads
    with logged_in_page(browser, live_server, team[0], PASSWORD, viewport=DESKTOP) as page:
        page.goto(f"{live_server.url}/inbox/?channel=whatsapp")
        expect(page.locator("#inbox-list li.conversation")).to_have_count(3)
        page.evaluate("document.getElementById('inbox-list').dataset.marker = 'kept'")  # the same list, not reloaded

        page.click(f"#lead-{elif_.pk} a")
        expect(page.locator("#conversation #thread")).to_contain_text("düğün için fiyat")
        assert page.url.endswith(f"/inbox/{elif_.pk}/?channel=whatsapp")
        page.click(f"#lead-{mert.pk} a")
        expect(page.locator("#conversation #thread")).to_contain_text("12 Haziran")
        expect(page.locator(f"#lead-{mert.pk}")).to_have_class(ACTIVE)
        assert page.evaluate("document.getElementById('inbox-list').dataset.marker") == "kept"
        page.screenshot(path=SCREENSHOTS / "inbox-split.png")

        page.go_back()
        expect(page.locator("#conversation #thread")).to_contain_text("düğün için fiyat")
        assert page.url.endswith(f"/inbox/{elif_.pk}/?channel=whatsapp")
        page.go_forward()
        expect(page.locator("#conversation #thread")).to_contain_text("12 Haziran")
        assert page.evaluate("document.getElementById('inbox-list').dataset.marker") == "kept"
        assert not page.violations

        page.reload()  # the address alone gives the same page: the list with its filter, the conversation open
        expect(page.locator("#conversation #thread")).to_contain_text("12 Haziran")
        expect(page.locator("#filters select[name=channel]")).to_have_value("whatsapp")


def test_on_a_phone_the_list_or_the_conversation_fills_the_screen(browser, live_server, team, leads):
    elif_ = leads[0]
    with logged_in_page(browser, live_server, team[0], PASSWORD, viewport=PHONE) as page:
        expect(page.locator("#inbox-list")).to_be_visible()
        expect(page.locator("#pane")).to_be_hidden()
        page.click(f"#lead-{elif_.pk} a")
        expect(page.locator("#conversation #thread")).to_contain_text("düğün için fiyat")
        expect(page.locator("#inbox-list")).to_be_hidden()
        page.screenshot(path=SCREENSHOTS / "inbox-split-phone.png")
        page.click("#conversation .back")
        expect(page.locator("#inbox-list")).to_be_visible()
        expect(page.locator("#pane")).to_be_hidden()
        assert page.url.endswith("/inbox/")
        assert not page.violations


def test_two_agents_see_a_take_and_a_resolve_live_and_the_second_taker_is_told(browser, live_server, team, leads):
    ayse, deniz = team
    elif_ = leads[0]
    with (
        logged_in_page(browser, live_server, ayse, PASSWORD, viewport=DESKTOP) as first,
        logged_in_page(browser, live_server, deniz, PASSWORD, viewport=DESKTOP) as second,
    ):
        for page in (first, second):
            page.goto(f"{live_server.url}/inbox/{elif_.pk}/")
            page.wait_for_selector("body[data-live=open]")
            expect(page.locator("#count-unassigned")).to_have_text("3")

        first.click("#conversation h1")  # out of the composer (focused on load): keys are shortcuts again
        first.keyboard.press("a")  # take it
        expect(first.locator("#conversation-controls #assignee")).to_have_text("Ayşe")
        started = time.monotonic()
        expect(second.locator("#conversation-controls #assignee")).to_have_text("Ayşe", timeout=3000)
        print(f"take to the other agent's screen: {(time.monotonic() - started) * 1000:.0f} ms")
        expect(second.locator(f"#lead-{elif_.pk} .assignee-chip")).to_have_text("Ayşe")
        expect(second.locator("#count-unassigned")).to_have_text("2")
        expect(first.locator("#count-mine")).to_have_text("1")

        # Deniz's controls were drawn before the take reached them: a take now is refused with who has it.
        Conversation.objects.filter(lead=elif_).update(assignee=None)
        second.reload()
        Conversation.objects.filter(lead=elif_).update(assignee=ayse)
        second.click("#take")
        expect(second.locator("#controls-error")).to_have_text("Ayşe has this conversation already.")
        assert Conversation.objects.get(lead=elif_).assignee == ayse

        first.keyboard.press("e")  # resolve
        expect(first.locator("#conversation-controls .status-chip")).to_have_text("Resolved")
        expect(second.locator(f"#lead-{elif_.pk}")).to_have_count(0, timeout=3000)  # off the open list
        assert Conversation.objects.get(lead=elif_).status == "resolved"
        assert not first.violations and not second.violations


def test_the_keys_are_listed_on_question_mark_and_j_k_walk_the_list(browser, live_server, team, leads):
    elif_, mert, _ = leads
    with logged_in_page(browser, live_server, team[0], PASSWORD, viewport=DESKTOP) as page:
        page.keyboard.press("?")
        expect(page.locator("#shortcuts")).to_be_visible()
        expect(page.locator("#shortcuts")).to_contain_text("Resolve the conversation")
        page.keyboard.press("Escape")
        page.keyboard.press("j")
        expect(page.locator(f"#lead-{elif_.pk}")).to_have_class(ACTIVE)
        page.keyboard.press("j")
        expect(page.locator(f"#lead-{mert.pk}")).to_have_class(ACTIVE)
        page.keyboard.press("k")
        expect(page.locator("#conversation #thread")).to_contain_text("düğün için fiyat")
        page.keyboard.press("r")
        expect(page.locator("#composer textarea")).to_be_focused()


def test_slash_in_the_composer_lists_the_canned_replies_filled_for_the_lead(browser, live_server, team, leads):
    from templates_app.models import CannedReply
    from templates_app.services import canned_reply_save

    ayse = team[0]
    canned_reply_save(reply=CannedReply(shortcut="fiyat", text="Merhaba {{1}}, fiyat listemiz ekte."))
    canned_reply_save(reply=CannedReply(shortcut="fiyat-indirim", text="{{1}}, bu hafta %10 indirim var!"))
    canned_reply_save(reply=CannedReply(shortcut="adres", text="Adresimiz: Bağdat Caddesi 12, Kadıköy"))
    canned_reply_save(reply=CannedReply(shortcut="imza", text="Sevgiler, Ayşe", owner=ayse))
    elif_ = leads[0]
    with logged_in_page(browser, live_server, ayse, PASSWORD, viewport=DESKTOP) as page:
        page.goto(f"{live_server.url}/inbox/{elif_.pk}/")
        box = page.locator("#composer textarea")
        box.fill("/")
        expect(page.locator("#reply-picker .reply-option")).to_have_count(4)
        box.press_sequentially("fi")
        expect(page.locator("#reply-picker .reply-option")).to_have_count(2)
        expect(page.locator("#reply-picker .chosen")).to_contain_text("Merhaba Elif Kaya, fiyat listemiz ekte.")
        page.screenshot(path=SCREENSHOTS / "canned-reply-picker.png")
        box.press("ArrowDown")
        expect(page.locator("#reply-picker .chosen")).to_contain_text("/fiyat-indirim")
        box.press("Enter")  # takes the reply, does not send
        expect(box).to_have_value("Elif Kaya, bu hafta %10 indirim var!")
        expect(page.locator("#reply-picker")).to_be_hidden()
        assert not elif_.messages.filter(is_from_lead=False).exists()
        box.press("Enter")  # now it sends, as any text
        page.wait_for_selector(".bubble.ours >> text=Elif Kaya, bu hafta %10 indirim var!")
        box.fill("/imz")
        page.locator("#reply-picker .reply-option").click()
        expect(box).to_have_value("Sevgiler, Ayşe")
        box.fill("/yok")
        expect(page.locator("#reply-picker")).to_contain_text("No canned reply starts with that.")
        box.press("Escape")
        expect(page.locator("#reply-picker")).to_be_hidden()
        assert not page.violations


def test_a_private_note_mentions_an_agent_who_is_told_live_and_finds_it_under_mentions(
    browser, live_server, team, leads
):
    ayse, deniz = team
    elif_ = leads[0]
    with (
        logged_in_page(browser, live_server, ayse, PASSWORD, viewport=DESKTOP) as first,
        logged_in_page(browser, live_server, deniz, PASSWORD, viewport=DESKTOP) as second,
    ):
        first.goto(f"{live_server.url}/inbox/{elif_.pk}/")
        second.goto(f"{live_server.url}/inbox/")
        for page in (first, second):
            page.wait_for_selector("body[data-live=open]")
        expect(second.locator("#count-mentions")).to_have_text("0")

        first.click("#conversation h1")
        first.keyboard.press("n")  # the note tab, its box focused
        box = first.locator("#note-form textarea")
        expect(box).to_be_focused()
        expect(first.locator("#composer")).to_be_hidden()
        box.press_sequentially("Fiyatı sen verir misin @de")
        expect(first.locator("#mention-picker .reply-option")).to_have_count(1)
        expect(first.locator("#mention-picker .chosen")).to_contain_text("@deniz")
        box.press("Enter")  # takes the name, does not send
        expect(box).to_have_value("Fiyatı sen verir misin @deniz ")
        box.press_sequentially("? Düğün 12 Haziran.")
        box.press("Enter")
        note = first.locator("#thread .bubble.note")
        expect(note).to_contain_text("Fiyatı sen verir misin @deniz ? Düğün 12 Haziran.")
        expect(note.locator(".mention")).to_have_text("@deniz")
        expect(box).to_have_value("")
        assert not elif_.messages.filter(is_from_lead=False).exists()  # never sent

        expect(second.locator("#toasts .toast")).to_contain_text("Ayşe mentioned you:", timeout=3000)
        expect(second.locator("#count-mentions")).to_have_text("1")
        second.locator("input[name=view][value=mentions]").check()
        expect(second.locator("#inbox-list li.conversation")).to_have_count(1)
        second.click(f"#lead-{elif_.pk} a")
        expect(second.locator("#thread .bubble.note")).to_contain_text("Fiyatı sen verir misin")
        expect(second.locator("#count-mentions")).to_have_text("0", timeout=3000)  # seen

        first.locator("#note-form textarea").fill("Fiyat listesi gönderildi.")
        first.locator("#note-form textarea").press("Enter")
        expect(second.locator("#thread .bubble.note").last).to_contain_text("Fiyat listesi gönderildi.", timeout=3000)
        first.screenshot(path=SCREENSHOTS / "private-note.png")
        assert not first.violations and not second.violations


def test_a_label_put_on_in_the_panel_shows_on_both_agents_pages_and_filters_the_list(browser, live_server, team, leads):
    from leads.models import LabelColour
    from leads.tests.factories import LabelFactory

    ayse, deniz = team
    elif_, mert, _ = leads
    vip = LabelFactory(name="VIP", colour=LabelColour.RED)
    LabelFactory(name="Düğün", colour=LabelColour.TEAL)
    with (
        logged_in_page(browser, live_server, ayse, PASSWORD, viewport=DESKTOP) as first,
        logged_in_page(browser, live_server, deniz, PASSWORD, viewport=DESKTOP) as second,
    ):
        for page in (first, second):
            page.goto(f"{live_server.url}/inbox/{elif_.pk}/")
            page.wait_for_selector("body[data-live=open]")
        first.locator("#lead-labels button", has_text="VIP").click()
        expect(first.locator("#lead-labels button", has_text="VIP")).to_have_attribute("aria-pressed", "true")
        expect(first.locator("#head-labels")).to_contain_text("VIP")
        expect(second.locator("#head-labels .label-red")).to_have_text("VIP", timeout=3000)
        expect(second.locator(f"#lead-{elif_.pk} .labels")).to_contain_text("VIP")
        expect(second.locator("#lead-labels button", has_text="VIP")).to_have_attribute("aria-pressed", "true")
        first.screenshot(path=SCREENSHOTS / "labels.png")

        second.select_option("#filters select[name=label]", str(vip.pk))
        expect(second.locator("#inbox-list li.conversation")).to_have_count(1)
        expect(second.locator(f"#lead-{mert.pk}")).to_have_count(0)
        assert f"label={vip.pk}" in second.url
        assert not first.violations and not second.violations


def test_agents_see_who_else_has_the_conversation_open_and_who_is_typing(browser, live_server, team, leads):
    ayse, deniz = team
    elif_, mert, _ = leads
    with (
        logged_in_page(browser, live_server, ayse, PASSWORD, viewport=DESKTOP) as first,
        logged_in_page(browser, live_server, deniz, PASSWORD, viewport=DESKTOP) as second,
    ):
        first.goto(f"{live_server.url}/inbox/{elif_.pk}/")
        first.wait_for_selector("body[data-live=open]")
        expect(first.locator("#presence")).to_be_hidden()
        second.goto(f"{live_server.url}/inbox/{elif_.pk}/")
        second.wait_for_selector("body[data-live=open]")
        expect(second.locator("#presence")).to_have_text("Also here: Ayşe")  # told on opening
        expect(first.locator("#presence")).to_have_text("Also here: Deniz", timeout=3000)  # told live

        second.locator("#composer textarea").press_sequentially("Merhaba Elif")
        expect(first.locator("#presence")).to_have_text("Deniz is typing a reply…", timeout=3000)
        expect(first.locator("#presence")).to_have_class(re.compile(r"\btyping\b"))
        first.screenshot(path=SCREENSHOTS / "collision.png")

        second.click(f"#lead-{mert.pk} a")  # Deniz moves on
        expect(second.locator("#conversation #thread")).to_contain_text("12 Haziran")
        expect(first.locator("#presence")).to_be_hidden(timeout=3000)
        assert not first.violations and not second.violations


def test_an_agent_starts_a_conversation_with_a_new_number_and_sends_the_best_template_in_one_click(
    browser, live_server, team, leads, outbox
):
    from templates_app.models import Template
    from templates_app.tests.factories import TemplateFactory

    TemplateFactory(
        name="karsilama",
        content="Merhaba {{1}}, Happy Düğün Salonu'ndan yazıyoruz.",
        content_sid="HXkarsilama",
        approval_status=Template.ApprovalStatus.APPROVED,
    )
    with logged_in_page(browser, live_server, team[0], PASSWORD, viewport=DESKTOP) as page:
        page.click("#start-link")
        expect(page.locator("#start-view h1")).to_have_text("New conversation")
        page.fill("#start-view input[type=search]", "Yusuf")
        expect(page.locator("#start-matches")).to_contain_text("No lead has that name or number.")
        page.fill("#id_name", "Yusuf Çelik")
        page.fill("#id_phone", "0 555 222 33 44")
        page.select_option("#id_channel", "whatsapp")
        page.click("#start-view button[type=submit]")
        expect(page.locator("#conversation h1")).to_have_text("Yusuf Çelik")
        expect(page.locator("#window-closed")).to_contain_text("has not written yet")
        expect(page.locator("#composer textarea")).to_be_disabled()
        expect(page.locator("#channel-picker")).to_have_value("whatsapp")
        page.click("#use-best-template")
        expect(page.locator("#template-preview")).to_contain_text("Merhaba Yusuf Çelik, Happy Düğün Salonu'ndan")
        page.screenshot(path=SCREENSHOTS / "start-conversation.png")
        page.click("#composer button[name=send-template]")
        page.wait_for_selector(".bubble.ours")
        expect(page.locator("#inbox-list")).to_contain_text("Yusuf Çelik", timeout=3000)  # now in the list

        page.select_option("#channel-picker", "sms")  # SMS has no window: text can go
        expect(page.locator("#sms-notice")).to_be_visible()
        expect(page.locator("#composer textarea")).to_be_enabled()
        page.locator("#composer textarea").fill("Fiyat listemiz ekte.")
        page.locator("#composer textarea").press("Enter")
        page.wait_for_selector(".bubble.ours >> text=Fiyat listemiz ekte.")
        assert [(m.to, m.channel) for m in outbox] == [("+905552223344", "whatsapp"), ("+905552223344", "sms")]
        assert not page.violations


def test_a_reply_names_its_agent_then_the_conversation_is_snoozed_resolved_and_found_by_status(
    browser, live_server, team, leads, outbox
):
    elif_ = leads[0]
    with logged_in_page(browser, live_server, team[0], PASSWORD, viewport=DESKTOP) as page:
        page.goto(f"{live_server.url}/inbox/{elif_.pk}/")
        page.locator("#composer textarea").fill("Merhaba Elif Hanım, fiyat listemizi gönderiyorum.")
        page.locator("#composer textarea").press("Enter")
        expect(page.locator(".bubble.ours .sender")).to_have_text("Ayşe")
        expect(page.locator("#lead-summary")).to_contain_text("Ayşe")  # the reply made it hers

        page.click("#conversation-controls form.snooze summary")
        page.click("#conversation-controls button[value=tomorrow]")
        expect(page.locator("#conversation-controls .status-chip")).to_contain_text("Snoozed")
        expect(page.locator(f"#lead-{elif_.pk}")).to_have_count(0, timeout=3000)  # off the open list
        page.select_option("#filters select[name=status]", "snoozed")
        expect(page.locator(f"#lead-{elif_.pk} .status-chip")).to_have_text("Snoozed")
        page.screenshot(path=SCREENSHOTS / "snoozed.png")

        page.click("#conversation h1")
        page.keyboard.press("e")  # resolve
        expect(page.locator("#conversation-controls .status-chip")).to_have_text("Resolved")
        page.select_option("#filters select[name=status]", "resolved")
        expect(page.locator(f"#lead-{elif_.pk} .status-chip")).to_have_text("Resolved")
        page.screenshot(path=SCREENSHOTS / "resolved.png")
        assert not page.violations
