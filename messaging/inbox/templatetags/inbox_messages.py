"""What the inbox says about a message beyond its own fields."""

from django import template

from messaging.opt_words import notice
from messaging.selectors import message_error_explanation

register = template.Library()


@register.filter
def error_explanation(message) -> str:
    """Why the message failed, in the agent's language, as its provider explains the code."""
    return message_error_explanation(message)


@register.filter
def consent_notice(message) -> str:
    """That the message opted the lead out or in, and why (our word for its channel, or the provider's keyword)."""
    consent = message.rich["consent"]
    if consent is None:
        return ""
    return notice(change=consent["change"], by=consent["by"], word=consent["word"], channel=consent["channel"])
