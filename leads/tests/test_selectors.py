import datetime

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from leads.models import Lead
from leads.selectors import FALLBACK_CANDIDATES, PhoneMatch, lead_find_by_phone, leads_find_by_phones
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
# Country codes under which any 10 digits are a possible number: one last-10-digits group shared by many leads.
COUNTRY_CODES = (20, 24, 25, 26, 27, 30, 31, 37, 38, 39, 43, 44)


def same_lead(found: Lead | None, expected: Lead) -> bool:
    """The whole row, as the ORM reads it (types included: SQLite returns text for UUIDs and times)."""
    assert found is not None
    fresh = Lead.objects.get(pk=expected.pk)
    fields = [field.attname for field in Lead._meta.concrete_fields]
    return {name: getattr(found, name) for name in fields} == {name: getattr(fresh, name) for name in fields}


def test_exact_number_is_found_as_the_orm_reads_it(django_assert_num_queries):
    lead = LeadFactory(phone="+905551234567", last_message_at=NOW, email="a@example.com")
    LeadFactory(phone="+15551234567", last_message_at=NOW + datetime.timedelta(hours=1))  # same last 10 digits
    with django_assert_num_queries(1):
        match = lead_find_by_phone(e164="+905551234567")
    assert match.candidates == 1 and not match.ambiguous
    assert same_lead(match.lead, lead)
    assert not match.lead._state.adding and match.lead._state.db == "default"
    assert model_to_dict(match.lead)["stage"] == lead.stage_id


def test_unknown_number_finds_nothing(django_assert_num_queries):
    LeadFactory(phone="+905551234567")
    with django_assert_num_queries(1):
        assert lead_find_by_phone(e164="+905559999999") == PhoneMatch(lead=None, candidates=0)


def test_last_ten_digits_find_a_lead_stored_under_another_country_code():
    lead = LeadFactory(phone="+15551234567")
    match = lead_find_by_phone(e164="+905551234567")
    assert match.candidates == 1 and same_lead(match.lead, lead)


def test_several_by_the_last_ten_digits_the_most_recently_active_wins():
    LeadFactory(phone="+15551234567", last_message_at=NOW - datetime.timedelta(days=3))
    recent = LeadFactory(phone="+445551234567", last_message_at=NOW - datetime.timedelta(hours=1))
    LeadFactory(phone="+495551234567", last_message_at=None)
    match = lead_find_by_phone(e164="+905551234567")
    assert match.lead == recent and match.candidates == 3 and match.ambiguous


def test_never_written_leads_come_last_the_newest_first():
    older = LeadFactory(phone="+15551234567")
    newer = LeadFactory(phone="+445551234567")
    Lead.objects.filter(pk=older.pk).update(created_at=NOW - datetime.timedelta(days=1))
    assert lead_find_by_phone(e164="+905551234567").lead == newer


def test_candidates_are_counted_up_to_ten():
    for code in COUNTRY_CODES:
        LeadFactory(phone=f"+{code}5551234567")
    assert lead_find_by_phone(e164="+905551234567").candidates == FALLBACK_CANDIDATES


def test_many_numbers_in_one_query_find_what_each_finds_alone(django_assert_num_queries):
    LeadFactory(phone="+905551234567")
    LeadFactory(phone="+15551234567", last_message_at=NOW)  # shares the last 10 digits with the first
    LeadFactory(phone="+15552223344", last_message_at=NOW - datetime.timedelta(days=3))
    LeadFactory(phone="+445552223344", last_message_at=NOW - datetime.timedelta(hours=1))
    LeadFactory(phone="+495552223344", last_message_at=None)
    LeadFactory(phone="+905553334455")
    for code in COUNTRY_CODES:
        LeadFactory(phone=f"+{code}5550001122")
    numbers = ["+905551234567", "+905552223344", "+905553334455", "+905559999999", "+905550001122", "+15551234567"]
    with django_assert_num_queries(1):
        matches = leads_find_by_phones(e164s=[*numbers, numbers[0]])
    assert list(matches) == numbers
    assert matches == {number: lead_find_by_phone(e164=number) for number in numbers}
    assert matches["+905552223344"].candidates == 3 and matches["+905550001122"].candidates == FALLBACK_CANDIDATES


def test_no_numbers_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert leads_find_by_phones(e164s=[]) == {}
