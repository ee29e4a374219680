"""Every label the admin shows reads as Turkish: dotted and dotless i where they belong, a capital where a sentence
starts.

Python's `capfirst`/`upper` turn a leading "i" into "I" (Turkish needs "İ"), and Django's Turkish admin strings
put the lowercase model name first ("lead değiştir"). Generic over every installed model and registered admin, so
models added later are covered as they land.
"""

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import django
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import label_for_field, model_format_dict
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.text import capfirst

from accounts.models import LoginFailure, SignIn
from campaigns.models import Campaign, CampaignRecipient
from happycrm.settings.base import BASE_DIR
from leads.models import Stage
from leads.tests.factories import LeadFactory
from messaging.models import MessageMedia
from messaging.tests.factories import MessageFactory, WebhookEventFactory
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

# A word that starts with a dotless capital I and goes on in lowercase is almost always a capitalised "i…" word
# ("Ilk", "Içerik", "Işlenme"). Real Turkish words that do start with "I" go here when a label needs one.
REAL_WORDS_WITH_DOTLESS_I = {"Işık", "Isı", "Islak", "Irmak", "Ilık"}
WRONG_I = re.compile(r"\bI[a-zçğıöşü]\w*")
# Django admin strings may start with these placeholders: a number, or a name that is capitalised anyway.
LEADING_PLACEHOLDERS_ALLOWED = {"count", "counter", "total_count", "sel", "cnt", "app", "site_name", "class_name"}
LEADING_PLACEHOLDER = re.compile(r"^\s*(?:%\((\w+)\)[sd]|%[sd]|\{(\w*)\})")


def wrong_i_words(text: str) -> list[str]:
    return [word for word in WRONG_I.findall(text) if word not in REAL_WORDS_WITH_DOTLESS_I]


def sentence_problem(text: str) -> str | None:
    """Why `text`, shown where a sentence starts, does not read as Turkish (None when it does)."""
    text = str(text).strip()
    if not text:
        return None
    if text[0].islower():
        return "starts in lowercase"
    if wrong_i_words(text):
        return f"dotless capital I in {wrong_i_words(text)}"
    return None


def capfirst_problem(text: str) -> str | None:
    """A label Django shows through `capfirst` (model names, which also sit mid-sentence in lowercase)."""
    text = str(text).strip()
    if text.startswith("i"):
        return "starts with “i”: capfirst makes it a dotless “I”"
    if wrong_i_words(text):
        return f"dotless capital I in {wrong_i_words(text)}"
    return None


def is_project_model(model) -> bool:
    path = Path(apps.get_app_config(model._meta.app_label).path)
    return path.is_relative_to(BASE_DIR) and "site-packages" not in path.parts


def has_explicit_verbose_name(field) -> bool:
    return "verbose_name" in field.deconstruct()[3]


def labelled_fields(model):
    for field in model._meta.get_fields():
        if field.auto_created and not field.concrete:
            continue  # reverse relations: no label of their own
        if field.primary_key:
            continue  # a key, labelled only where an admin shows it as a column (checked there)
        yield field


@pytest.fixture
def turkish():
    with translation.override("tr"):
        yield


def test_model_and_field_verbose_names(turkish):
    problems = []
    for model in apps.get_models():
        opts = model._meta
        for label in (opts.verbose_name, opts.verbose_name_plural):
            if problem := capfirst_problem(label):
                problems.append(f"{opts.label} “{label}”: {problem}")
        for field in labelled_fields(model):
            label = str(field.verbose_name)
            where = f"{opts.label}.{field.name} “{label}”"
            if is_project_model(model):
                # Ours are written sentence-cased, so capfirst changes nothing and a filter's title ("Süzgeç: Aşama")
                # reads like the others. A field named like a model has its own msgid (pgettext "field"): the model's
                # name stays lowercase for mid-sentence use (in "Change %s").
                if not has_explicit_verbose_name(field):
                    problems.append(f"{where}: no translated verbose_name")
                elif problem := sentence_problem(label):
                    problems.append(f"{where}: {problem}")
            elif problem := capfirst_problem(label):
                problems.append(f"{where}: {problem}")
    assert problems == [], "\n".join(problems)


def title_cased(text: str) -> bool:
    """Two or more words capitalised after the first ("Kimlik Doğrulama ve Yetkilendirme"), a proper noun aside."""
    words = str(text).split()[1:]
    return any(word[0].isupper() and not word.isupper() and word not in PROPER_NOUNS for word in words)


PROPER_NOUNS = {"WhatsApp", "Twilio"}  # acronyms ("SMS", "REST") are left as they are too


def test_app_verbose_names(turkish):
    problems = [
        f"{config.label} “{config.verbose_name}”: {problem}"
        for config in apps.get_app_configs()
        if (
            problem := sentence_problem(config.verbose_name)
            or ("title-cased" if title_cased(config.verbose_name) else None)
        )
    ]
    assert problems == [], "\n".join(problems)


# Names and labels that are the same word in Turkish (compared case-insensitively).
SAME_IN_TURKISH = {"lead", "sms", "whatsapp", "webhook", "url", "sid", "happy crm", "id", "e-posta"}


def untranslated(english: str, turkish: str) -> bool:
    return (
        english.strip().casefold() == turkish.strip().casefold() and english.strip().casefold() not in SAME_IN_TURKISH
    )


def test_every_model_name_is_translated():
    """Third-party models included: their names show in the admin and in every group's permission list."""
    problems = []
    for model in apps.get_models():
        for attr in ("verbose_name", "verbose_name_plural"):
            with translation.override("en"):
                english = str(getattr(model._meta, attr))
            with translation.override("tr"):
                turkish = str(getattr(model._meta, attr))
            if untranslated(english, turkish):
                problems.append(f"{model._meta.label} {attr} “{english}”")
    assert problems == [], "\n".join(problems)


def test_every_field_of_a_registered_model_is_translated():
    problems = []
    for model in admin.site._registry:
        for field in labelled_fields(model):
            with translation.override("en"):
                english = str(field.verbose_name)
            with translation.override("tr"):
                turkish = str(field.verbose_name)
            if untranslated(english, turkish):
                problems.append(f"{model._meta.label}.{field.name} “{english}”")
    assert problems == [], "\n".join(problems)


@pytest.fixture
def superuser_request(django_user_model):
    request = RequestFactory().get("/admin/")
    request.user = django_user_model.objects.create_user(username="root", is_staff=True, is_superuser=True)
    return request


def test_admin_columns_actions_and_fieldsets(turkish, superuser_request):
    problems = []
    for model, model_admin in admin.site._registry.items():
        where = model._meta.label
        for name in model_admin.get_list_display(superuser_request):
            label = label_for_field(name, model, model_admin)
            if problem := sentence_problem(capfirst(label)) or capfirst_problem(label):
                problems.append(f"{where} column {name} “{label}”: {problem}")
        for name in model_admin.get_readonly_fields(superuser_request):
            label = label_for_field(name, model, model_admin)
            if problem := capfirst_problem(label):
                problems.append(f"{where} read-only {name} “{label}”: {problem}")
        for name, (_func, _name, description) in model_admin.get_actions(superuser_request).items():
            text = str(description) % model_format_dict(model._meta)
            if problem := sentence_problem(text):
                problems.append(f"{where} action {name} “{text}”: {problem}")
        for title, _options in model_admin.get_fieldsets(superuser_request):
            if title and (problem := sentence_problem(title)):
                problems.append(f"{where} fieldset “{title}”: {problem}")
        for inline in model_admin.get_inline_instances(superuser_request):
            for label in (inline.verbose_name, inline.verbose_name_plural):
                if problem := capfirst_problem(label):
                    problems.append(f"{where} inline “{label}”: {problem}")
    assert problems == [], "\n".join(problems)


def django_admin_catalog() -> dict[str, str]:
    path = Path(django.__file__).parent / "contrib" / "admin" / "locale" / "tr" / "LC_MESSAGES" / "django.mo"
    with path.open("rb") as handle:
        return {key: value for key, value in gettext.GNUTranslations(handle)._catalog.items() if key}


def test_no_admin_sentence_starts_with_a_lowercase_name(turkish):
    """Django's Turkish admin puts `%s`/`{name}` first ("%s değiştir" → "lead değiştir"): our catalog rephrases
    each one so the sentence starts with a word of its own."""
    problems = []
    for key in django_admin_catalog():
        msgid, plural = key if isinstance(key, tuple) else (key, None)
        text = translation.ngettext(msgid, msgid, 2) if plural is not None else translation.gettext(msgid)
        match = LEADING_PLACEHOLDER.match(text)
        if match and (match.group(1) or match.group(2) or "") not in LEADING_PLACEHOLDERS_ALLOWED:
            problems.append(f"{msgid!r} → {text!r}")
    assert problems == [], "\n".join(sorted(set(problems)))


# A number followed by a model's name in Django's admin strings: the name there is the plural ("5 şablonlar"), which
# Turkish does not use after a number.
COUNT_THEN_NAME = re.compile(
    r"%\((?:count|counter|total_count|cnt)\)[sd] %\((?:name|items|module_name|objects_name)\)s"
)


def test_no_admin_string_puts_a_plural_name_after_a_number(turkish):
    problems = []
    for key in django_admin_catalog():
        msgid, plural = key if isinstance(key, tuple) else (key, None)
        for n in (0, 1, 2):
            text = translation.ngettext(msgid, msgid, n) if plural is not None else translation.gettext(msgid)
            if COUNT_THEN_NAME.search(text):
                problems.append(f"{msgid!r} → {text!r}")
    assert problems == [], "\n".join(sorted(set(problems)))


@pytest.mark.parametrize("language", ["tr", "en"])
def test_changelist_count_of_every_model(language):
    """The count under every changelist: Turkish keeps the singular after a number, English says "0 leads"."""
    problems = []
    for model in admin.site._registry:
        opts = model._meta
        for n in (0, 1, 2, 35):
            cl = SimpleNamespace(result_count=n, opts=opts, formset=None)
            with translation.override(language):
                text = " ".join(render_to_string("admin/pagination.html", {"cl": cl}).split())
                name = opts.verbose_name if language == "tr" or n == 1 else opts.verbose_name_plural
                expected = f'<p class="paginator"> {n} {name} </p>'
            if text != expected:
                problems.append(f"{text} (expected {expected})")
    assert problems == [], "\n".join(problems)


def test_admin_titles_made_from_every_model_name(turkish):
    """The titles Django builds from a model's name, for every registered model (rows or not)."""
    titles = ["Add %s", "Change %s", "View %s", "Select %s to change", "Select %s to view", "Select %s"]
    problems = []
    for model in admin.site._registry:
        opts = model._meta
        for msgid in titles:
            text = translation.gettext(msgid) % opts.verbose_name
            if re.search(r"\bkay(?:ıt|d)\w* kayd", text):
                problems.append(f"{opts.label} {msgid!r} → {text!r}: reads doubled")
            elif problem := sentence_problem(text):
                problems.append(f"{opts.label} {msgid!r} → {text!r}: {problem}")
        for msgid in ("The {name} “{obj}” was added successfully.", "The {name} “{obj}” was changed successfully."):
            text = translation.gettext(msgid).format(name=opts.verbose_name, obj="Ayşe")
            if problem := sentence_problem(text):
                problems.append(f"{opts.label} {msgid!r} → {text!r}: {problem}")
    assert problems == [], "\n".join(problems)


class VisibleText(HTMLParser):
    """The page's visible text, and the text of the elements that start a sentence of their own."""

    SENTENCE_TAGS = {"title", "h1", "h3", "label", "caption", "legend"}
    SKIPPED = {"script", "style", "template"}

    def __init__(self):
        super().__init__()
        self.text, self.sentences, self.stack, self.filter_titles = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        starts_sentence = (
            tag in self.SENTENCE_TAGS
            or (tag == "th" and attrs.get("scope") == "col")  # column headers (CSS uppercases them)
            or (tag == "h2" and "fieldset-heading" in classes)
            or (tag == "option" and self.stack and self.stack[-1][2] == "action")
            or (tag == "li" and {"success", "info", "warning", "error"} & classes)
        )
        if tag == "details" and attrs.get("data-filter-title") is not None:
            self.filter_titles.append(attrs["data-filter-title"])
        name = attrs.get("name") if tag == "select" else (self.stack[-1][2] if self.stack else None)
        if tag not in {"br", "img", "input", "meta", "link", "hr"}:
            self.stack.append((tag, [] if starts_sentence else None, name))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, parts, _name = self.stack.pop()
            if parts is not None and "".join(parts).strip():
                self.sentences.append((open_tag, " ".join("".join(parts).split())))
            if open_tag == tag:
                break

    def handle_data(self, data):
        if any(tag in self.SKIPPED for tag, _parts, _name in self.stack):
            return
        self.text.append(data)
        for _tag, parts, _name in self.stack:
            if parts is not None:
                parts.append(data)


def parsed(response) -> VisibleText:
    parser = VisibleText()
    parser.feed(response.content.decode())
    return parser


def labels(response) -> set[str]:
    """What the page says in its own words (not the rows' data): headings, labels, columns, filters, actions."""
    parser = parsed(response)
    texts = set(parser.filter_titles)
    for tag, text in parser.sentences:
        texts.update(text.split(" | ")[-2:-1] if tag == "title" else [text])
    return {text.rstrip(":").strip() for text in texts if re.search(r"[^\W\d_]", text)}


def untranslated_labels(turkish_response, english_response) -> list[str]:
    """The page's labels that read the same in English: left untranslated."""
    english = {text.casefold() for text in labels(english_response)}
    return sorted(
        f"untranslated “{text}”"
        for text in labels(turkish_response)
        if text.casefold() in english and text.casefold() not in SAME_IN_TURKISH
    )


PAGINATOR_COUNT = re.compile(r'<p class="paginator">\s*(?:<[^>]+>[^<]*</[^>]+>\s*)*(\d+ [^<\n]+?)\s*(?:<|\n)')


def page_problems(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    parser = parsed(response)
    problems = [f"filter title “{title}”: {p}" for title in parser.filter_titles if (p := sentence_problem(title))]
    titles = [text for tag, text in parser.sentences if tag == "title"]
    if not titles or any(not part.strip() for part in titles[0].split("|")):
        problems.append(f"<title> “{titles[0] if titles else ''}” has an empty part")
    if not any(tag == "h1" for tag, _text in parser.sentences):
        problems.append("no <h1>")
    if not re.search(r'<html lang="tr"', html):
        problems.append('no <html lang="tr">: CSS uppercase would turn "i" into "I"')
    problems += [f"dotless capital I: {word}" for word in wrong_i_words(" ".join(parser.text))]
    problems += [f"<{tag}> “{text}”: a time in UTC" for tag, text in parser.sentences if "+00:00" in text]
    if response.context and (cl := response.context.get("cl")) and (found := re.search(PAGINATOR_COUNT, html)):
        with translation.override("tr"):
            expected = f"{cl.result_count} {cl.opts.verbose_name}"
        if found.group(1) != expected:
            problems.append(f"count “{found.group(1)}”, not “{expected}”")
    for tag, text in parser.sentences:
        # A change page's <title> starts with the object's name (data): its own parts are the last two.
        for part in text.split(" | ")[-2:] if tag == "title" else [text]:
            if problem := sentence_problem(part):
                problems.append(f"<{tag}> “{text}”: {problem}")
    return problems


@pytest.fixture
def a_row_of_each(superuser_request):
    lead = LeadFactory(name="Ayşe Yılmaz", phone="+905551234567")
    LeadFactory(name="Mehmet Öz", phone="+905551234568")  # two of a kind: the count says "2 lead"
    message = MessageFactory(lead=lead, body="Merhaba")
    MessageMedia.objects.create(message=message, position=0, content_type="image/jpeg")
    WebhookEventFactory()
    template = TemplateFactory(name="Hoş geldiniz")
    campaign = Campaign.objects.create(name="Kış kampanyası", template=template, created_by=superuser_request.user)
    CampaignRecipient.objects.create(campaign=campaign, lead=lead, message=message)
    Stage.objects.create(name="Teklif verildi", position=5)
    record = {"username": "admin", "ip_address": "127.0.0.1", "user_agent": "Firefox", "path_info": "/admin/login/"}
    LoginFailure.objects.create(**record, failures_since_start=5, get_data="", post_data="username=admin")
    SignIn.objects.create(**record)


def admin_url(opts, view, *args):
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)
    except NoReverseMatch:
        return None


def test_rendered_admin_pages_read_as_turkish(client, superuser_request, a_row_of_each):
    client.force_login(superuser_request.user)
    problems = []

    def check(url, data=None, what=None):
        method = client.get if data is None else client.post
        response = method(url, data or {}, HTTP_ACCEPT_LANGUAGE="tr")
        english = method(url, data or {}, HTTP_ACCEPT_LANGUAGE="en")
        problems.extend(
            f"{what or url}: {problem}" for problem in page_problems(response) + untranslated_labels(response, english)
        )

    check(reverse("admin:index"))
    check(reverse("admin:password_change"))
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        check(admin_url(opts, "changelist"))
        if model_admin.has_add_permission(superuser_request):
            check(admin_url(opts, "add"))
        obj = model_admin.get_queryset(superuser_request).first()
        if obj is None:
            continue  # the titles without a row: test_admin_titles_made_from_every_model_name
        check(admin_url(opts, "change", obj.pk))  # "Change …" or, read-only, "View …"
        check(admin_url(opts, "history", obj.pk))
        if model_admin.has_delete_permission(superuser_request, obj):
            check(admin_url(opts, "delete", obj.pk))
            if "delete_selected" in model_admin.get_actions(superuser_request):
                data = {"action": "delete_selected", "_selected_action": [obj.pk]}
                check(admin_url(opts, "changelist"), data, what=f"delete selected {opts.label}")
    # Actions that answer with a page of their own (asking for more, like the campaign form), last: the others act.
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        obj = model_admin.get_queryset(superuser_request).first()
        for name in model_admin.get_actions(superuser_request):
            if obj is None or name == "delete_selected":
                continue
            data = {"action": name, "_selected_action": [obj.pk]}
            answer = client.post(admin_url(opts, "changelist"), data, HTTP_ACCEPT_LANGUAGE="tr")
            if answer.status_code == 200 and answer["Content-Type"].startswith("text/html"):  # not a download
                check(admin_url(opts, "changelist"), data, what=f"action {name} of {opts.label}")
    assert problems == [], "\n".join(problems)


def test_password_change_page(client, superuser_request):
    client.force_login(superuser_request.user)
    page = client.get(reverse("admin:password_change"), HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "<title>Parola değiştirme | Happy CRM</title>" in page
    assert "<h1>Parola değiştirme</h1>" in page
    assert "değiştime" not in page


def test_the_campaign_form_has_a_title_and_a_heading(client, superuser_request):
    client.force_login(superuser_request.user)
    lead = LeadFactory()
    data = {"action": "send_campaign", "_selected_action": [lead.pk]}
    page = client.post(reverse("admin:leads_lead_changelist"), data, HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "<title>Şablon kampanyası gönder | Happy CRM</title>" in page
    assert "<h1>Şablon kampanyası gönder</h1>" in page


@pytest.mark.parametrize(("language", "written"), [("tr", "%100"), ("en", "100%")])
def test_campaign_progress_is_written_one_way(client, superuser_request, language, written):
    client.force_login(superuser_request.user)
    campaign = Campaign.objects.create(name="Kış", template=TemplateFactory(), created_by=superuser_request.user)
    pages = [
        client.get(reverse("admin:campaigns_campaign_changelist"), HTTP_ACCEPT_LANGUAGE=language),
        client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE=language),
    ]
    other = "100%" if written == "%100" else "%100"
    for page in (response.content.decode() for response in pages):
        assert written in page
        assert other not in page


def test_success_messages_read_as_turkish(client, superuser_request):
    client.force_login(superuser_request.user)
    url = reverse("admin:leads_stage_add")
    response = client.post(url, {"name": "İlk görüşme", "position": 3}, HTTP_ACCEPT_LANGUAGE="tr", follow=True)
    assert page_problems(response) == []
    stage = Stage.objects.get(name="İlk görüşme")
    link = f'<a href="{reverse("admin:leads_stage_change", args=[stage.pk])}">İlk görüşme</a>'
    assert [str(message) for message in response.context["messages"]] == [
        f"“{link}” adlı aşama kaydı başarıyla eklendi."
    ]
    stage = Stage.objects.get(name="İlk görüşme")
    response = client.post(
        reverse("admin:leads_stage_delete", args=[stage.pk]), {"post": "yes"}, HTTP_ACCEPT_LANGUAGE="tr", follow=True
    )
    assert page_problems(response) == []
    assert not Stage.objects.filter(pk=stage.pk).exists()
