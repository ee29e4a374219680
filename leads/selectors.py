from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import F, Model, Q

from happycrm.search import MIN_INDEXED_TERM, fold

from .models import Lead
from .phones import fallback_digits, normalize_phone


@dataclass(frozen=True)
class PhoneMatch:
    lead: Lead | None
    candidates: int = 0  # how many leads the last-10-digits fallback found

    @property
    def ambiguous(self) -> bool:
        return self.candidates > 1


def lead_find_by_phone(*, e164: str) -> PhoneMatch:
    """The spec's phone matcher: the exact E.164 number, else the last 10 digits (an indexed column, no LIKE).

    When the fallback finds several leads, the most recently active one wins and the caller is told.
    """
    lead = Lead.objects.filter(phone=e164).first()
    if lead is not None:
        return PhoneMatch(lead=lead, candidates=1)
    candidates = list(
        Lead.objects.filter(phone_national=fallback_digits(e164)).order_by(
            F("last_message_at").desc(nulls_last=True), "-created_at"
        )[:10]
    )
    return PhoneMatch(lead=candidates[0] if candidates else None, candidates=len(candidates))


FALLBACK_CANDIDATES = 10  # as many as lead_find_by_phone counts


def leads_find_by_phones(e164s: Iterable[str]) -> dict[str, PhoneMatch]:
    """`lead_find_by_phone` for many numbers in two queries (the exact numbers, then the last 10 digits of the
    others), for a worker's batch of messages."""
    wanted = set(e164s)
    matches = {lead.phone: PhoneMatch(lead=lead, candidates=1) for lead in Lead.objects.filter(phone__in=wanted)}
    rest = {e164: fallback_digits(e164) for e164 in wanted - matches.keys()}
    found = defaultdict(list)
    if rest:
        for lead in Lead.objects.filter(phone_national__in=set(rest.values())).order_by(
            F("last_message_at").desc(nulls_last=True), "-created_at"
        ):
            found[lead.phone_national].append(lead)
    for e164, digits in rest.items():
        candidates = found[digits][:FALLBACK_CANDIDATES]
        matches[e164] = PhoneMatch(lead=candidates[0] if candidates else None, candidates=len(candidates))
    return matches


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
