"""What the inbox says about a message beyond its own fields."""

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from conversations.services import MENTION
from messaging.opt_words import notice
from messaging.selectors import message_error_explanation

register = template.Library()


@register.filter
def error_explanation(message) -> str:
    """Why the message failed, in the agent's language, as its provider explains the code."""
    return message_error_explanation(message)


@register.filter
def note_text(note) -> str:
    """A note's text, escaped, its lines kept, each @name in it marked."""
    parts, last = [], 0
    for match in MENTION.finditer(note.body):
        parts += [escape(note.body[last : match.start()]), format_html('<span class="mention">{}</span>', match[0])]
        last = match.end()
    parts.append(escape(note.body[last:]))
    return linebreaksbr(mark_safe("".join(parts)))  # noqa: S308 (every part above is escaped)


@register.filter
def consent_notice(message) -> str:
    """That the message opted the lead out or in, and why (our word for its channel, or the provider's keyword)."""
    consent = message.rich["consent"]
    if consent is None:
        return ""
    return notice(change=consent["change"], by=consent["by"], word=consent["word"], channel=consent["channel"])
