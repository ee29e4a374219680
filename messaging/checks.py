"""System checks for the messaging backends' settings."""

from django.conf import settings
from django.core.checks import Error

from .backends.base import BaseBackend, _backend_class, _known_paths
from .models import Channel


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
