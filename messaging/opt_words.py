"""Our own opt-out and opt-in words, per channel (settings OPT_OUT_WORDS and OPT_IN_WORDS), beside the provider's
keywords (its parser's `opt_out` verdict): what a lead's message did to their consent, and how to say why.

A word counts only when it is the whole message (surrounding spaces and punctuation aside): "İptal" opts out,
"İptal etmek istiyorum rezervasyonu" is a message like any other. Case, accents and the Turkish dotted and dotless
i are ignored, folded as search folds them (happycrm.search.fold): İPTAL, IPTAL, iptal and the dotless-i spelling
are one word.
"""

import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from happycrm.search import fold

from .models import Channel, OptChange

BY_WORD = "word"  # one of our words, for the message's channel
BY_PROVIDER = "provider"  # the provider's own keyword (its verdict)
WORD_MAX_LENGTH = 40  # what is kept and shown of the word; a longer message is never one


@dataclass(frozen=True)
class ConsentChange:
    change: str  # OptChange.OUT or OptChange.IN
    by: str  # BY_WORD or BY_PROVIDER
    word: str  # the message as the lead wrote it, trimmed


def _trimmed(text: str) -> str:
    """Without surrounding whitespace and punctuation ("RET.", "«İptal!»")."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or unicodedata.category(text[start]).startswith("P")):
        start += 1
    while end > start and (text[end - 1].isspace() or unicodedata.category(text[end - 1]).startswith("P")):
        end -= 1
    return text[start:end]


def folded_word(text: str) -> str:
    return fold(_trimmed(text or ""))


def channel_words(channel: str) -> tuple[frozenset[str], frozenset[str]]:
    """(opt-out words, opt-in words) of `channel`, folded."""
    outs = {folded_word(word) for word in settings.OPT_OUT_WORDS.get(channel, ())}
    ins = {folded_word(word) for word in settings.OPT_IN_WORDS.get(channel, ())}
    return frozenset(outs - {""}), frozenset(ins - {""})


def word_change(*, body: str, channel: str) -> ConsentChange | None:
    """The change our words for `channel` make, when the whole message is one of them."""
    shown = _trimmed(body or "")
    if not shown or len(shown) > WORD_MAX_LENGTH:
        return None
    word = fold(shown)
    outs, ins = channel_words(channel)
    if word in outs:
        return ConsentChange(change=OptChange.OUT, by=BY_WORD, word=shown)
    if word in ins:
        return ConsentChange(change=OptChange.IN, by=BY_WORD, word=shown)
    return None


def consent_change(*, body: str, channel: str, provider_verdict: bool | None) -> ConsentChange | None:
    """What the message does to the lead's consent: the provider's verdict first (it enforces its own keywords
    whatever we think), else our words for the channel; None for an ordinary message."""
    if provider_verdict is not None:
        return ConsentChange(
            change=OptChange.OUT if provider_verdict else OptChange.IN,
            by=BY_PROVIDER,
            word=_trimmed(body or "")[:WORD_MAX_LENGTH],
        )
    return word_change(body=body, channel=channel)


def reason(*, change: str, by: str, word: str, channel: str) -> str:
    """Why, in the agent's language: "“İPTAL” is an opt-out word for WhatsApp", "the provider's keyword STOP"."""
    if by == BY_PROVIDER:
        return _("the provider's keyword %(word)s") % {"word": word}
    values = {"word": word, "channel": Channel(channel).label if channel in Channel.values else channel}
    if change == OptChange.OUT:
        return _("“%(word)s” is an opt-out word for %(channel)s") % values
    return _("“%(word)s” is an opt-in word for %(channel)s") % values


def notice(*, change: str, by: str, word: str, channel: str) -> str:
    """What the thread says under the message: "Opted out: “İPTAL” is an opt-out word for WhatsApp."."""
    why = reason(change=change, by=by, word=word, channel=channel)
    if change == OptChange.OUT:
        return _("Opted out: %(reason)s.") % {"reason": why}
    return _("Opted in: %(reason)s.") % {"reason": why}


def opt_in_words(provider_keywords) -> list[str]:
    """Every word that opts a lead in again (the provider's, then ours for each channel), each spelling once."""
    ours = [word for channel in Channel.values for word in settings.OPT_IN_WORDS.get(channel, ())]
    words, seen = [], set()
    for word in [*provider_keywords, *ours]:
        if (folded := folded_word(word)) and folded not in seen:
            seen.add(folded)
            words.append(word)
    return words
