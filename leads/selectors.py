from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Case, Count, F, Model, Q, QuerySet, Value, When
from django.db.models.sql.compiler import SQLCompiler
from django.utils import translation
from django.utils.translation import gettext

from happycrm.search import MIN_INDEXED_TERM, fold

from .models import Lead, Stage
from .phones import FALLBACK_DIGITS, fallback_digits, normalize_phone


@dataclass(frozen=True)
class PhoneMatch:
    lead: Lead | None
    candidates: int = 0  # how many leads the last-10-digits fallback found

    @property
    def ambiguous(self) -> bool:
        return self.candidates > 1


# The lead a phone belongs to, asked once per message: one query, compiled once per database (see _phone_query).
FALLBACK_CANDIDATES = 10  # how many leads sharing the last 10 digits are counted
# Stand-ins for the parameters while the query is compiled (a phone lookup normalises its value: a real number).
_E164, _DIGITS = "+442071838750", "\x00digits"


@dataclass(frozen=True)
class _CompiledQuery:
    sql: str
    params: tuple
    attnames: list[str]  # the lead's columns, as selected
    compiler: SQLCompiler
    converters: dict  # the backend's conversions of what the driver returns (SQLite's UUIDs and times)

    def rows(self, cursor, values: dict[str, str]) -> list:
        """Run with each stand-in replaced by its value in `values`."""
        cursor.execute(self.sql, [values.get(p, p) if isinstance(p, str) else p for p in self.params])
        rows = cursor.fetchall()
        return list(self.compiler.apply_converters(rows, self.converters)) if self.converters else rows


_phone_queries: dict[str, _CompiledQuery] = {}


def _fallback_order() -> tuple:
    return F("last_message_at").desc(nulls_last=True), F("created_at").desc()


def _phone_query(alias: str) -> _CompiledQuery:
    """The exact number or its last 10 digits, the exact one first, then the most recently active: as SQL.

    Building and compiling a queryset costs more Python than the indexed lookup costs PostgreSQL (normalising the
    number again, the lookups, the SQL), so it is compiled once, with stand-ins for the parameters.
    """
    if alias not in _phone_queries:
        queryset = (
            Lead.objects.using(alias)
            .filter(Q(phone=_E164) | Q(phone_national=_DIGITS))
            .order_by(Case(When(phone=_E164, then=Value(0)), default=Value(1)), *_fallback_order())
        )[: FALLBACK_CANDIDATES + 1]
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        columns = [column for column, _sql, _alias in compiler.select]
        _phone_queries[alias] = _CompiledQuery(
            sql=sql,
            params=tuple(params),
            attnames=[column.target.attname for column in columns],
            compiler=compiler,
            converters=compiler.get_converters(columns),
        )
    return _phone_queries[alias]


def lead_get(*, pk) -> Lead | None:
    """The lead with this id (any form a UUID takes), or None; never raises for a malformed id."""
    try:
        return Lead.objects.select_related("stage").filter(pk=pk).first()
    except ValidationError:
        return None


def lead_get_by_exact_phone(*, e164: str) -> Lead | None:
    """The lead whose number is exactly `e164`: a request about one person never reaches another through the
    last-10-digits fallback."""
    return Lead.objects.select_related("stage").filter(phone=e164).first()


def lead_find_by_phone(*, e164: str) -> PhoneMatch:
    """The spec's phone matcher: the exact E.164 number, else the last 10 digits (an indexed column, no LIKE).

    When the fallback finds several leads, the most recently active one wins and the caller is told.
    One query, the exact number first (a bitmap of the two indexes), ten fallback candidates at most.
    """
    alias = router.db_for_read(Lead)
    query = _phone_query(alias)
    with connections[alias].cursor() as cursor:
        rows = query.rows(cursor, {_E164: e164, _DIGITS: fallback_digits(e164)})
    leads = [Lead.from_db(alias, query.attnames, row) for row in rows]
    if leads and leads[0].phone == e164:
        return PhoneMatch(lead=leads[0], candidates=1)
    leads = leads[:FALLBACK_CANDIDATES]
    return PhoneMatch(lead=leads[0] if leads else None, candidates=len(leads))


def leads_find_by_phones(*, e164s: Iterable[str]) -> dict[str, PhoneMatch]:
    """`lead_find_by_phone` for many numbers in one query (a batch of messages): each number to its match.

    Every lead a number can match is found through `phone_national` alone: the exact lead's column holds the
    number's last 10 characters (the column is `RIGHT(phone, 10)`), the fallback's its last 10 digits. A lookup on
    `phone` would parse every number again (the field normalises what it is compared with).
    """
    e164s = list(dict.fromkeys(e164s))
    if not e164s:
        return {}
    keys = {key for e164 in e164s for key in (e164[-FALLBACK_DIGITS:], fallback_digits(e164))}
    leads = list(Lead.objects.filter(phone_national__in=sorted(keys)))
    by_phone = {lead.phone: lead for lead in leads}
    by_digits: dict[str, list[Lead]] = {}
    for lead in sorted(leads, key=_most_recently_active):
        by_digits.setdefault(lead.phone_national, []).append(lead)
    matches = {}
    for e164 in e164s:
        if (lead := by_phone.get(e164)) is not None:
            matches[e164] = PhoneMatch(lead=lead, candidates=1)
        else:
            candidates = by_digits.get(fallback_digits(e164), [])[:FALLBACK_CANDIDATES]
            matches[e164] = PhoneMatch(lead=candidates[0] if candidates else None, candidates=len(candidates))
    return matches


def _most_recently_active(lead: Lead) -> tuple:
    """The fallback's order (last message first, never-written leads last, then the newest) as a sort key."""
    last = lead.last_message_at
    return (last is None, -last.timestamp() if last else 0.0, -lead.created_at.timestamp())


# A word found for at most this many rows narrows a search to a list of ids (see every_word_q).
SELECTIVE = 1000


@dataclass(frozen=True)
class SearchWord:
    text: str  # as typed
    folded: str  # as stored in the folded columns

    @property
    def indexed(self) -> bool:
        """Long enough for a trigram index: a shorter word only searches the leads' names."""
        return len(self.folded) >= MIN_INDEXED_TERM

    @property
    def digits(self) -> str:
        return "".join(filter(str.isdigit, self.text))


@dataclass(frozen=True)
class SearchTerms:
    """What a search box's text means: a phone in any form, or words that must each match somewhere."""

    MAX_WORDS = 8

    text: str
    phone: str | None
    words: tuple[SearchWord, ...]

    @classmethod
    def parse(cls, query: str) -> "SearchTerms":
        query = query.strip()
        try:
            phone = normalize_phone(query) if query else None
        except ValidationError:
            phone = None
        words = {}
        for text in query.split()[: cls.MAX_WORDS]:
            if folded := fold(text):
                words.setdefault(folded, SearchWord(text=text, folded=folded))
        return cls(text=query, phone=phone, words=tuple(words.values()))

    def __bool__(self) -> bool:
        return bool(self.phone or self.words)

    @property
    def phone_digits(self) -> str:
        """A part of a phone typed in groups (`555 123 45`): only digits and separators, four digits or more."""
        digits = "".join(filter(str.isdigit, self.text))
        return digits if len(digits) >= 4 and not any(ch.isalpha() for ch in self.text) else ""


def every_word_q(model: type[Model], places: list[list[Q]]) -> Q:
    """Rows where every word is in one of its places (`places[n]`: the conditions that find word n).

    Each word is first looked up on its own, each place through its own index (a `UNION ALL`, where an `OR` could
    use none), for at most SELECTIVE + 1 ids. A word found that rarely (a name, a word from a message: nearly
    every search) narrows the result to a list of ids, so the database sorts and counts a short list; a word found
    more often is left as a condition, checked on those ids, or on every row when no word is that rare.
    """
    known, common = None, Q()
    for conditions in places:
        if known is not None and not known:
            break
        first, *rest = [model.objects.filter(q).order_by().values_list("pk", flat=True) for q in conditions]
        found = set((first.union(*rest, all=True) if rest else first)[: SELECTIVE + 1])
        if len(found) <= SELECTIVE:
            known = found if known is None else known & found
        else:
            either = Q(pk__in=[])
            for q in conditions:
                either |= q
            common &= either
    return common if known is None else Q(pk__in=sorted(known, key=str)) & common


def lead_word_places(word: SearchWord) -> list[Q]:
    """A word in a lead's folded name (`ayse` finds `AYŞE`), or in its phone when the word has four digits or more."""
    places = [Q(search_name__contains=word.folded)]
    if len(word.digits) >= 4:
        places.append(Q(phone__contains=word.digits))
    return places


def lead_phone_q(*, e164: str) -> Q:
    """Every lead a phone could belong to: the exact number, or its last 10 digits (an indexed column)."""
    return Q(phone=e164) | Q(phone_national=fallback_digits(e164))


def lead_search_q(*, terms: SearchTerms, more: Callable[[SearchWord], list[Q]] | None = None) -> Q:
    """The leads a search means, for every search box (the inbox's and the admin's).

    A phone in any form (`0555 123 45 67`, `whatsapp:+90…`) is the exact number or its last 10 digits (indexed).
    Otherwise every word must be in the folded name, in the phone, or where `more` finds it (the messages' text,
    the admin's e-mail and location); a phone typed in groups (`555 123 45`) also matches inside the phone.
    """
    if terms.phone:
        return lead_phone_q(e164=terms.phone)
    places = [lead_word_places(word) + (more(word) if more is not None else []) for word in terms.words]
    match = every_word_q(Lead, places)
    if len(terms.words) > 1 and terms.phone_digits:
        match |= Q(phone__contains=terms.phone_digits)
    return match


def leads_by_stage(*, open_since) -> list[dict]:
    """Every stage in pipeline order (those without leads too) with its leads, its unread conversations and its open
    ones (the lead wrote since `open_since`: the channel's reply window), one query."""
    return list(
        Stage.objects.annotate(
            total=Count("leads"),
            unread=Count("leads", filter=Q(leads__unread_count__gt=0)),
            open=Count("leads", filter=Q(leads__last_inbound_at__gte=open_since)),
        )
        .order_by("position", "name")
        .values("pk", "name", "total", "unread", "open")
    )


def leads_list(
    *,
    stage_id=None,
    unread: bool | None = None,
    opted_out: bool | None = None,
    created_since=None,
    updated_since=None,
    search: str = "",
) -> QuerySet[Lead]:
    """The API's lead list, newest first (the id breaks ties, so a page never repeats or skips a lead); each filter
    given narrows it, the search as the inbox's and the admin's search boxes read it (a phone in any form, or
    words in the name or phone). Each with its stage and labels (one more query for the page, whatever its size)."""
    leads = Lead.objects.select_related("stage").prefetch_related("labels").order_by("-created_at", "-pk")
    if stage_id is not None:
        leads = leads.filter(stage_id=stage_id)
    if unread is not None:
        leads = leads.filter(unread_count__gt=0) if unread else leads.filter(unread_count=0)
    if opted_out is not None:
        leads = leads.filter(opted_out_at__isnull=not opted_out)
    if created_since is not None:
        leads = leads.filter(created_at__gte=created_since)
    if updated_since is not None:
        leads = leads.filter(updated_at__gte=updated_since)
    terms = SearchTerms.parse(search)
    if terms:
        leads = leads.filter(lead_search_q(terms=terms))
    return leads


def unnamed_lead_name() -> str:
    """The name a lead made from a message by an unknown number gets when the sender gave none, in the site's
    language (never the language of whoever's request made it)."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext("New lead")


DUPLICATES_SHOWN = 10
DUPLICATE_KINDS = ("phone", "name")  # the same last 10 digits; the same name, folded


def _telling_name_q() -> Q:
    """A name that tells a person apart: not empty, not the name every unnamed lead has."""
    return ~Q(search_name="") & ~Q(search_name=fold(unnamed_lead_name()))


def lead_duplicates(*, lead: Lead, limit: int = DUPLICATES_SHOWN) -> list[Lead]:
    """Other leads that are likely the same person: the same last 10 digits (a number stored in two forms), or the
    same name as the search folds it (`AYŞE YILMAZ` is `ayse yilmaz`); those sharing the number first, then the
    most recently active. One query, on the indexed last digits and the folded name."""
    same = Q(pk__in=[])
    if lead.phone_national:
        same |= Q(phone_national=lead.phone_national)
    if lead.search_name and lead.search_name != fold(unnamed_lead_name()):
        same |= Q(search_name=lead.search_name)
    by_phone = Case(When(phone_national=lead.phone_national, then=Value(0)), default=Value(1))
    return list(
        Lead.objects.filter(same)
        .exclude(pk=lead.pk)
        .select_related("stage")
        .order_by(by_phone, *_fallback_order())[:limit]
    )


def leads_with_duplicates_q(*, by: str) -> Q:
    """The leads that share their last 10 digits (`by="phone"`) or their folded name (`by="name"`) with another
    lead: the admin's list of likely duplicates, a grouping of the whole table in one subquery."""
    column = {"phone": "phone_national", "name": "search_name"}[by]
    shared = (
        Lead.objects.filter(phone_national__isnull=False) if by == "phone" else Lead.objects.filter(_telling_name_q())
    )
    groups = shared.values(column).annotate(n=Count("pk")).filter(n__gt=1).values(column).order_by()
    return Q(**{f"{column}__in": groups})
