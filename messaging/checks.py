"""System checks for the messaging backends' settings and our opt-out and opt-in words."""

from django.conf import settings
from django.core.checks import Error

from .backends.base import BaseBackend, _backend_class, _known_paths
from .models import Channel
from .opt_words import channel_words


def backends_check(app_configs=None, **kwargs):
    """A channel backend for a channel we do not have, or a backend that cannot be imported, is refused at start."""
    errors = [
        Error(
            f"MESSAGING_CHANNEL_BACKENDS names {channel!r}, which is not a channel ({', '.join(Channel.values)}).",
            id="messaging.E001",
        )
        for channel in settings.MESSAGING_CHANNEL_BACKENDS
        if channel not in Channel.values
    ]
    for path in _known_paths():
        try:
            backend_class = _backend_class(path)
        except ImportError as exc:
            errors.append(Error(f"The messaging backend {path!r} cannot be imported: {exc}", id="messaging.E002"))
            continue
        if not (isinstance(backend_class, type) and issubclass(backend_class, BaseBackend)):
            errors.append(Error(f"The messaging backend {path!r} is not a messaging backend.", id="messaging.E003"))
    return errors


def opt_words_check(app_configs=None, **kwargs):
    """A word that would both opt a lead out and in on one channel is refused at start (folded as they are matched:
    RET and ret, İPTAL and IPTAL are one word); so are words for a channel we do not have."""
    errors = [
        Error(f"{name} names {channel!r}, which is not a channel ({', '.join(Channel.values)}).", id="messaging.E004")
        for name in ("OPT_OUT_WORDS", "OPT_IN_WORDS")
        for channel in getattr(settings, name)
        if channel not in Channel.values
    ]
    for channel in Channel.values:
        outs, ins = channel_words(channel)
        if both := sorted(outs & ins):
            errors.append(
                Error(
                    f"{', '.join(both)} would opt a lead both out and in on {channel}: "
                    f"remove it from OPT_OUT_WORDS_{channel.upper()} or OPT_IN_WORDS_{channel.upper()}.",
                    id="messaging.E005",
                )
            )
    return errors
