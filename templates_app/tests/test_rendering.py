import datetime

import pytest

from leads.tests.factories import LeadFactory
from templates_app.rendering import (
    MissingValues,
    template_extra_values,
    template_render,
    template_value_boxes,
    template_values,
)
from templates_app.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


def test_template_values_follow_the_site_language(settings):
    settings.LANGUAGE_CODE = "en"
    lead = LeadFactory(event_date=datetime.date(2026, 12, 5), event_time=datetime.time(19, 30))
    assert template_values(lead=lead, extra=["x"])[1:] == ["12/05/2026", "7:30 p.m.", "x"]
    settings.LANGUAGE_CODE = "tr"
    assert template_values(lead=lead)[1:] == ["05.12.2026", "19:30"]


def test_missing_value_names_the_placeholder():
    with pytest.raises(MissingValues, match=r"\{\{2\}\} \(the event date\)"):
        template_render(content="Merhaba {{1}} {{2}}", values=["Ayşe", ""])


def test_render_fills_every_occurrence_and_says_with_what():
    body, variables = template_render(content="{{1}}, {{ 4 }} için {{1}}", values=["Can", "", "", "A-42"])
    assert body == "Can, A-42 için Can"
    assert variables == {"1": "Can", "4": "A-42"}
    with pytest.raises(MissingValues) as missing:
        template_render(content="{{1}} {{3}} {{5}}", values=["Can", "", " "])
    assert missing.value.numbers == [3, 5]
    assert missing.value.message == "The template needs a value for {{3}} (the event time), {{5}}."


def test_value_boxes_for_the_placeholders_the_sender_fills():
    template = TemplateFactory(content="{{1}} {{7}} {{4}} {{4}} {{100}}", variables={"7": "Mavi"})
    assert template_value_boxes(template) == [{"number": 4, "sample": ""}, {"number": 7, "sample": "Mavi"}]
    assert template_value_boxes(None) == []


def test_extra_values_in_order_an_empty_one_kept_in_its_place():
    data = {"param-6": "c", "param-4": "a", "param-x": "?", "param-3": "no", "param-100": "no", "body": "Merhaba"}
    assert template_extra_values(data) == ["a", "", "c"]
    assert template_extra_values({}) == []
