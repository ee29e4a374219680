"""Twilio, the one place that knows it: the send client, the webhook (signature, parser, URL), what its statuses
and error codes mean, its opt-out keywords, its Content API, its media credentials and its senders' rates. It reads
its own TWILIO_* settings."""

from .backend import TwilioBackend

__all__ = ["TwilioBackend"]
