"""What the inbox says about a message beyond its own fields."""

from django import template

from messaging.selectors import message_error_explanation

register = template.Library()


@register.filter
def error_explanation(message) -> str:
    """Why the message failed, in the agent's language, as its provider explains the code."""
    return message_error_explanation(message)
