import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError

from leads.models import Lead, Stage
from leads.phones import fallback_digits
from leads.tests.factories import LeadFactory, StageFactory
from messaging.models import Message
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_migration_creates_a_starter_pipeline_with_one_default():
    stages = list(Stage.objects.all())
    assert len(stages) >= 4
    assert [s.position for s in stages] == sorted(s.position for s in stages)
    assert sum(s.is_default for s in stages) == 1
    assert stages[0].is_default


def test_making_a_stage_default_takes_the_flag_from_the_previous_one():
    old = Stage.objects.get(is_default=True)
    new = StageFactory(is_default=True)
    old.refresh_from_db()
    assert not old.is_default
    assert list(Stage.objects.filter(is_default=True)) == [new]


def test_database_refuses_two_defaults():
    stage = StageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Stage.objects.filter(pk=stage.pk).update(is_default=True)


def test_the_default_cannot_be_unset_without_choosing_another():
    stage = Stage.objects.get(is_default=True)
    stage.is_default = False
    with pytest.raises(ValidationError) as excinfo:
        stage.full_clean()
    assert "is_default" in excinfo.value.message_dict


def test_new_leads_land_in_the_default_stage_whichever_it_is():
    assert Lead.objects.create(name="A").stage == Stage.objects.get(is_default=True)
    other = StageFactory(is_default=True)
    assert Lead.objects.create(name="B").stage == other


def test_a_stage_with_leads_cannot_be_deleted():
    lead = LeadFactory(stage=StageFactory())
    with pytest.raises(ProtectedError):
        lead.stage.delete()


@pytest.mark.parametrize("raw", ["0555 123 45 67", "whatsapp:+905551234567", "905551234567"])
def test_phone_is_stored_in_e164_whatever_the_caller_wrote(raw):
    lead = Lead.objects.create(name="A", phone=raw)
    lead.refresh_from_db()
    assert lead.phone == "+905551234567"
    assert lead.phone_national == "5551234567" == fallback_digits(lead.phone)


def test_bulk_create_normalises_too():
    Lead.objects.bulk_create([Lead(name="A", phone="0532 111 22 33", stage=Stage.objects.get(is_default=True))])
    assert Lead.objects.get().phone == "+905321112233"


def test_junk_phone_is_refused_before_reaching_the_table():
    with pytest.raises(ValidationError), transaction.atomic():
        Lead.objects.create(name="A", phone="not a phone")
    assert not Lead.objects.exists()


def test_phone_is_unique_when_present_and_optional():
    Lead.objects.create(name="A", phone="+905551234567")
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(name="B", phone="0555 123 45 67")
    Lead.objects.create(name="C", phone="")
    Lead.objects.create(name="D", phone=None)
    assert Lead.objects.filter(phone__isnull=True).count() == 2


def test_full_clean_reports_a_duplicate_phone_in_any_form():
    Lead.objects.create(name="A", phone="+905551234567")
    lead = Lead(name="B", phone="0555 123 45 67", stage=Stage.objects.get(is_default=True))
    with pytest.raises(ValidationError) as excinfo:
        lead.full_clean()
    assert "phone" in excinfo.value.message_dict


def test_phone_national_follows_phone_changes():
    lead = LeadFactory(phone="+905551234567")
    lead.phone = "+14155552671"
    lead.save()
    lead.refresh_from_db()
    assert lead.phone_national == "4155552671"


def test_deleting_a_lead_deletes_its_messages():
    message = MessageFactory()
    other = MessageFactory()
    message.lead.delete()
    assert list(Message.objects.all()) == [other]
