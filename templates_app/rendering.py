"""A template's text for one lead: its placeholders, the values the lead gives them, the preview and the filled text.

`{{1}}` is the lead's name, `{{2}}` its event date, `{{3}}` its event time; `{{4}}` onwards are typed by whoever
sends (the agent's value boxes, the API's `parameters`, a campaign's values). Every sender renders through here,
so a page, the API and a campaign fill a template the same way and refuse the same missing values.
"""

import re
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _

from leads.models import Lead

from .models import Template

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
FIRST_EXTRA = 4  # {{1}}-{{3}} come from the lead; the sender types the rest
MAX_EXTRA = 99
EXTRA_PREFIX = "param-"  # a value box's name in a form: `param-4`, …


class MissingValues(Exception):
    """The template has placeholders with no value; `message` names them, in the user's language."""

    code = "missing_value"

    def __init__(self, numbers: Sequence[int]):
        self.numbers = list(numbers)
        self.message = _("The template needs a value for %(names)s.") % {
            "names": ", ".join(_named(number) for number in self.numbers)
        }
        super().__init__(self.message)


def placeholder_labels() -> dict[int, str]:
    """What the lead's own placeholders mean, in the user's language."""
    return {1: _("the lead's name"), 2: _("the event date"), 3: _("the event time")}


def _named(number: int) -> str:
    label = placeholder_labels().get(number)
    return f"{{{{{number}}}}} ({label})" if label else f"{{{{{number}}}}}"


def template_values(*, lead: Lead, extra: Sequence[str] = ()) -> list[str]:
    """{{1}} the lead's name, {{2}} the event date, {{3}} the event time (the site's language), then `extra`."""
    with translation.override(settings.LANGUAGE_CODE):
        event_date = formats.date_format(lead.event_date, "SHORT_DATE_FORMAT") if lead.event_date else ""
        event_time = formats.time_format(lead.event_time, "TIME_FORMAT") if lead.event_time else ""
    return [lead.name, event_date, event_time, *(str(value) for value in extra)]


def template_render(*, content: str, values: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Fill every occurrence of every placeholder, and say what each was filled with; raises MissingValues when
    one has no value (which the provider would refuse)."""
    numbers = sorted({int(number) for number in PLACEHOLDER.findall(content)})
    missing = [number for number in numbers if number > len(values) or not str(values[number - 1]).strip()]
    if missing:
        raise MissingValues(missing)
    body = PLACEHOLDER.sub(lambda match: str(values[int(match.group(1)) - 1]), content)
    return body, {str(number): str(values[number - 1]) for number in numbers}


def template_preview(*, template: Template, lead: Lead, extra: Sequence[str] = ()) -> dict:
    """The template as `lead` will read it; a placeholder without a value stays visible and is listed."""
    return content_preview(content=template.content, lead=lead, extra=extra)


def content_preview(*, content: str, lead: Lead, extra: Sequence[str] = ()) -> dict:
    """A text with placeholders (a template's, a canned reply's) as `lead` will read it: `text`, and the
    placeholders left `missing` (visible in the text, for the sender to fill or remove)."""
    values = template_values(lead=lead, extra=extra)
    missing: set[int] = set()

    def fill(match) -> str:
        number = int(match.group(1))
        value = values[number - 1] if number <= len(values) else ""
        if not str(value).strip():
            missing.add(number)
            return match.group(0)
        return str(value)

    text = PLACEHOLDER.sub(fill, content)
    labels = placeholder_labels()
    return {
        "text": text,
        "missing": [{"placeholder": f"{{{{{n}}}}}", "meaning": labels.get(n, "")} for n in sorted(missing)],
    }


def template_value_boxes(template: Template | None) -> list[dict]:
    """A box for every placeholder the sender fills, with the template's sample value as a hint."""
    if template is None:
        return []
    numbers = sorted({int(n) for n in PLACEHOLDER.findall(template.content) if FIRST_EXTRA <= int(n) <= MAX_EXTRA})
    samples = template.variables if isinstance(template.variables, dict) else {}
    return [{"number": n, "sample": str(samples.get(str(n), ""))} for n in numbers]


def template_extra_values(data: Mapping[str, str]) -> list[str]:
    """The values typed in the boxes for {{4}}, {{5}}, … (`param-4`, …) in order, an empty one kept in its place."""
    size = len(EXTRA_PREFIX)
    numbers = [int(key[size:]) for key in data if key.startswith(EXTRA_PREFIX) and key[size:].isdigit()]
    numbers = [n for n in numbers if FIRST_EXTRA <= n <= MAX_EXTRA]
    last = max(numbers, default=FIRST_EXTRA - 1)
    return [data.get(f"{EXTRA_PREFIX}{n}", "") for n in range(FIRST_EXTRA, last + 1)]
