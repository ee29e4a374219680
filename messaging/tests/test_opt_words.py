"""Our opt-out and opt-in words beside the provider's keywords: only the whole message, case, accents and the
Turkish dotted and dotless i ignored, per channel, from the settings."""

import pytest
from django.core.checks import Error

from messaging.checks import opt_words_check
from messaging.opt_words import BY_PROVIDER, BY_WORD, ConsentChange, consent_change, notice, opt_in_words, word_change

OUT, IN = "out", "in"


@pytest.mark.parametrize("body", ["RET", "ret", "Ret", " RET ", "RET.", "İPTAL", "IPTAL", "iptal", "İptal", "ıptal",
                                  "IPTAL!", "«İptal»", "\tiptal\n"])  # fmt: skip
@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_the_turkish_opt_out_words_in_any_case_and_any_i(body, channel):
    change = word_change(body=body, channel=channel)
    assert (change.change, change.by, change.word) == (OUT, BY_WORD, body.strip().strip(".!«»"))


@pytest.mark.parametrize("body", ["BAŞLA", "başla", "BASLA", "basla", "Başla.", "BAŞLA!"])
def test_the_opt_in_words(body):
    assert word_change(body=body, channel="whatsapp").change == IN


@pytest.mark.parametrize(
    "body",
    ["İptal etmek istiyorum rezervasyonu", "RET RET", "iptal mi?", "Rezervasyonu iptal", "retro", "iptaller", "RE T",
     "", "   ", "...", "STOP", "Başlayalım"],
)  # fmt: skip
def test_only_the_whole_message_counts(body):
    assert word_change(body=body, channel="whatsapp") is None


def test_each_channel_has_its_own_words_and_the_settings_change_them(settings):
    settings.OPT_OUT_WORDS = {"whatsapp": ["RET"], "sms": ["DUR", "İPTAL"]}
    settings.OPT_IN_WORDS = {"whatsapp": ["BAŞLA"], "sms": []}
    assert word_change(body="dur", channel="sms").change == OUT
    assert word_change(body="dur", channel="whatsapp") is None
    assert word_change(body="ıptal", channel="sms").change == OUT
    assert word_change(body="İptal", channel="whatsapp") is None
    assert word_change(body="başla", channel="sms") is None
    assert word_change(body="BASLA", channel="whatsapp").change == IN


def test_the_providers_verdict_comes_first_and_says_so():
    assert consent_change(body=" STOP ", channel="sms", provider_verdict=True) == ConsentChange(
        OUT, BY_PROVIDER, "STOP"
    )
    assert consent_change(body="START", channel="sms", provider_verdict=False) == ConsentChange(
        IN, BY_PROVIDER, "START"
    )
    assert consent_change(body="İPTAL", channel="sms", provider_verdict=None) == ConsentChange(OUT, BY_WORD, "İPTAL")
    assert consent_change(body="Merhaba", channel="sms", provider_verdict=None) is None


def test_what_the_thread_says():
    assert notice(change=OUT, by=BY_WORD, word="İPTAL", channel="whatsapp") == (
        "Opted out: “İPTAL” is an opt-out word for WhatsApp."
    )
    assert notice(change=IN, by=BY_WORD, word="başla", channel="sms") == "Opted in: “başla” is an opt-in word for SMS."
    assert notice(change=OUT, by=BY_PROVIDER, word="STOP", channel="sms") == "Opted out: the provider's keyword STOP."


def test_every_opt_in_word_is_listed_once_whatever_its_spellings():
    assert opt_in_words(["START", "UNSTOP", "YES"]) == ["START", "UNSTOP", "YES", "BAŞLA"]


def test_a_word_that_would_opt_out_and_in_on_a_channel_is_refused_at_start(settings):
    assert opt_words_check() == []
    settings.OPT_OUT_WORDS = {"whatsapp": ["RET"], "sms": ["İPTAL"], "telegram": ["X"]}
    settings.OPT_IN_WORDS = {"whatsapp": ["BAŞLA"], "sms": ["iptal"]}
    errors = opt_words_check()
    assert [error.id for error in errors] == ["messaging.E004", "messaging.E005"]
    assert all(isinstance(error, Error) for error in errors)
    assert "iptal would opt a lead both out and in on sms" in errors[1].msg
