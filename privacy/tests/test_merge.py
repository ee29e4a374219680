"""Merging two leads of one person: each app moves its rows of the other lead to the kept one, the kept lead's
derived columns follow its messages, and the other is erased with a receipt naming the kept lead and what moved."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.utils import timezone

from campaigns.models import CampaignRecipient
from campaigns.tests.factories import CampaignFactory, CampaignRecipientFactory
from conversations.models import Conversation, Mention, Note
from conversations.tests.factories import ConversationFactory
from leads.models import Lead
from leads.selectors import lead_duplicates, leads_with_duplicates_q, unnamed_lead_name
from leads.tests.factories import LabelFactory, LeadFactory
from messaging.backends import locmem
from messaging.models import Message, MessageMedia, WebhookEvent
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from privacy.models import ErasureReceipt
from privacy.services import LeadAlreadyGone, MergeRefused, Requester, leads_merge

from .factories import full_lead

pytestmark = pytest.mark.django_db

Status = Conversation.Status
HOUR = datetime.timedelta(hours=1)


def ago(**kwargs) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**kwargs)


def merge(keep, other, user, capture):
    with capture(execute=True):
        return leads_merge(keep=keep, other=other, requester=Requester.admin(user))


@pytest.fixture(autouse=True)
def _provider_deletions():
    locmem.deleted.clear()
    yield
    locmem.deleted.clear()


def test_the_other_leads_messages_conversations_and_campaigns_move_and_it_is_erased_with_a_receipt(
    admin_user, django_capture_on_commit_callbacks
):
    keep = LeadFactory(name="Ayşe Yılmaz", phone="+905551234567")
    MessageFactory(lead=keep, body="Merhaba Ayşe Hanım", created_at=ago(days=3))
    other, messages, media = full_lead("+15551234567", name="AYSE YILMAZ")  # the same last 10 digits
    ConversationFactory(lead=other, status=Status.RESOLVED, opened_at=ago(days=2), resolved_at=ago(days=1))
    vip, wedding = LabelFactory(name="VIP"), LabelFactory(name="Düğün")
    keep.labels.add(vip)
    other.labels.add(vip, wedding)
    events = WebhookEvent.objects.count()

    receipt = merge(keep, other, admin_user, django_capture_on_commit_callbacks)

    assert not Lead.objects.filter(pk=other.pk).exists()
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("lead_id", flat=True)) == {keep.pk}
    assert keep.messages.count() == 3
    assert MessageMedia.objects.get(pk=media.pk).message.lead_id == keep.pk
    assert default_storage.exists(media.file.name), "a moved attachment keeps its file"
    assert locmem.deleted == [], "nothing is deleted at the provider: the messages live on"
    assert WebhookEvent.objects.count() == events, "the raw events stay (one not processed yet may hold a message)"
    assert set(Conversation.objects.values_list("lead_id", flat=True)) == {keep.pk}  # its open one and resolved one
    assert CampaignRecipient.objects.get().lead_id == keep.pk
    assert set(keep.labels.all()) == {vip, wedding}
    assert set(Note.objects.values_list("lead_id", flat=True)) == set(Mention.objects.values_list("lead_id", flat=True))
    assert set(Note.objects.values_list("lead_id", flat=True)) == {keep.pk}
    assert receipt.merged_into == keep.pk
    assert receipt.moved == {
        "messages": 2, "conversations": 2, "notes": 1, "labels": 2, "campaign_recipients": 1
    }  # fmt: skip
    assert receipt.counts["leads"] == 1 and receipt.counts["messages"] == 0
    assert (receipt.phone_hmac, receipt.via, receipt.erased_by) == ("", ErasureReceipt.Via.ADMIN, admin_user)
    kept_history = LogEntry.objects.filter(object_id=str(keep.pk)).values_list("change_message", flat=True)
    assert list(kept_history) == [f"Another lead was merged into this one (receipt #{receipt.pk})."]
    assert not LogEntry.objects.filter(object_id=str(other.pk)).exists()  # the other's history is erased


def test_the_kept_lead_follows_its_messages_and_takes_what_only_the_other_knew(
    admin_user, django_capture_on_commit_callbacks
):
    keep = LeadFactory(name="Ayşe Yılmaz", email="", location="", is_unregistered=True)
    InboundMessageFactory(lead=keep, created_at=ago(days=2), is_read=True)
    other = LeadFactory(
        name="Ayşe Y.",
        email="ayse@example.com",
        location="Kadıköy",
        event_date=datetime.date(2027, 6, 12),
        opted_out_at=ago(hours=5),
        is_unregistered=False,
        first_message_answered=True,
    )
    newest = InboundMessageFactory(lead=other, created_at=ago(hours=1))
    InboundMessageFactory(lead=other, created_at=ago(hours=2))
    ours = MessageFactory(lead=other, created_at=ago(minutes=30))

    merge(keep, other, admin_user, django_capture_on_commit_callbacks)

    keep.refresh_from_db()
    assert (keep.name, keep.phone) == ("Ayşe Yılmaz", keep.phone)
    assert (keep.email, keep.location, keep.event_date) == ("ayse@example.com", "Kadıköy", datetime.date(2027, 6, 12))
    assert (keep.last_inbound_at, keep.last_message_at, keep.unread_count) == (newest.created_at, ours.created_at, 2)
    assert keep.opted_out_at is not None, "opted out if either was"
    assert (keep.is_unregistered, keep.first_message_answered) == (False, True)


def test_an_earlier_opt_out_of_the_kept_lead_stays(admin_user, django_capture_on_commit_callbacks):
    first = ago(days=9)
    keep, other = LeadFactory(opted_out_at=first), LeadFactory(opted_out_at=ago(days=1))
    merge(keep, other, admin_user, django_capture_on_commit_callbacks)
    keep.refresh_from_db()
    assert keep.opted_out_at == first


def test_both_current_conversations_become_one(admin_user, django_user_model, django_capture_on_commit_callbacks):
    deniz = django_user_model.objects.create_user("deniz")
    keep, other = LeadFactory(), LeadFactory()
    kept = ConversationFactory(lead=keep, opened_at=ago(hours=2), first_response_at=ago(hours=1),
                               status=Status.SNOOZED, snoozed_until=timezone.now() + HOUR)  # fmt: skip
    earlier = ConversationFactory(lead=other, opened_at=ago(hours=5), assignee=deniz)  # open, nobody answered
    resolved = ConversationFactory(lead=other, status=Status.RESOLVED, opened_at=ago(days=3), resolved_at=ago(days=2))

    receipt = merge(keep, other, admin_user, django_capture_on_commit_callbacks)

    current = Conversation.objects.get(lead=keep, status__in=[Status.OPEN, Status.SNOOZED])
    assert current.pk == kept.pk
    assert (current.status, current.snoozed_until, current.assignee) == (Status.OPEN, None, deniz)
    assert (current.opened_at, current.first_response_at) == (earlier.opened_at, kept.first_response_at)
    assert sorted(Conversation.objects.values_list("pk", flat=True)) == sorted([kept.pk, resolved.pk])
    assert receipt.moved["conversations"] == 2


def test_two_snoozed_conversations_wake_at_the_earlier_time(admin_user, django_capture_on_commit_callbacks):
    soon, later = timezone.now() + HOUR, timezone.now() + 5 * HOUR
    keep, other = LeadFactory(), LeadFactory()
    ConversationFactory(lead=keep, status=Status.SNOOZED, snoozed_until=later)
    ConversationFactory(lead=other, status=Status.SNOOZED, snoozed_until=soon)
    merge(keep, other, admin_user, django_capture_on_commit_callbacks)
    current = Conversation.objects.get()
    assert (current.lead_id, current.status, current.snoozed_until) == (keep.pk, Status.SNOOZED, soon)


def test_a_campaign_both_were_in_keeps_one_place_the_sent_one(admin_user, django_capture_on_commit_callbacks):
    keep, other = LeadFactory(), LeadFactory()
    both_skipped_here = CampaignFactory()
    skipped = CampaignRecipientFactory(
        campaign=both_skipped_here, lead=keep, outcome=CampaignRecipient.Outcome.SKIPPED_OPTED_OUT, reason="STOP"
    )
    sent = MessageFactory(lead=other, bulk=True)
    CampaignRecipientFactory(campaign=both_skipped_here, lead=other, outcome=CampaignRecipient.Outcome.QUEUED,
                             message=sent)  # fmt: skip
    both_sent = CampaignFactory()
    mine = CampaignRecipientFactory(
        campaign=both_sent, lead=keep, outcome=CampaignRecipient.Outcome.QUEUED, message=MessageFactory(lead=keep)
    )
    CampaignRecipientFactory(campaign=both_sent, lead=other, outcome=CampaignRecipient.Outcome.QUEUED,
                             message=MessageFactory(lead=other))  # fmt: skip
    only_other = CampaignRecipientFactory(lead=other)

    receipt = merge(keep, other, admin_user, django_capture_on_commit_callbacks)

    places = {row.campaign_id: row for row in CampaignRecipient.objects.all()}
    assert len(places) == 3 and {row.lead_id for row in places.values()} == {keep.pk}
    took = places[both_skipped_here.pk]
    assert (took.pk, took.outcome, took.message_id, took.reason) == (skipped.pk, "queued", sent.pk, "")
    assert places[both_sent.pk].pk == mine.pk
    assert places[only_other.campaign_id].pk == only_other.pk
    assert receipt.moved["campaign_recipients"] == 1
    assert receipt.counts["campaign_recipients"] == 2  # the other's places in the campaigns both were in


def test_the_same_lead_twice_is_refused(admin_user):
    lead = LeadFactory()
    with pytest.raises(MergeRefused, match="cannot be merged with itself"):
        leads_merge(keep=lead, other=lead, requester=Requester.admin(admin_user))
    assert Lead.objects.filter(pk=lead.pk).exists() and not ErasureReceipt.objects.exists()


@pytest.mark.parametrize("gone", ["keep", "other"])
def test_a_lead_already_gone_is_refused_and_nothing_moves(admin_user, gone):
    keep, other = LeadFactory(), LeadFactory()
    message = MessageFactory(lead=other)
    stale = Lead.objects.get(pk=(keep if gone == "keep" else other).pk)
    Lead.objects.filter(pk=stale.pk).delete()
    with pytest.raises(LeadAlreadyGone, match="meanwhile"):
        leads_merge(keep=keep, other=other, requester=Requester.admin(admin_user))
    assert not ErasureReceipt.objects.exists()
    if gone == "keep":
        assert Message.objects.get(pk=message.pk).lead_id == other.pk


def test_a_failure_midway_leaves_both_leads_as_they_were(admin_user, monkeypatch):
    keep, other = LeadFactory(), LeadFactory()
    message = MessageFactory(lead=other)
    ConversationFactory(lead=other)

    def broken(**kwargs):
        raise IntegrityError("the campaigns' move failed")

    monkeypatch.setattr("privacy.services.recipients_move_to_lead", broken)
    with pytest.raises(IntegrityError):
        leads_merge(keep=keep, other=other, requester=Requester.admin(admin_user))
    assert Message.objects.get(pk=message.pk).lead_id == other.pk
    assert Conversation.objects.get().lead_id == other.pk
    assert Lead.objects.filter(pk=other.pk).exists() and not ErasureReceipt.objects.exists()


def test_likely_duplicates_share_the_last_ten_digits_or_the_folded_name():
    lead = LeadFactory(name="Ayşe Yılmaz", phone="+905551234567")
    same_digits = LeadFactory(name="Başka Biri", phone="+15551234567", last_message_at=ago(days=9))
    same_name = LeadFactory(name="AYSE  YILMAZ", phone="+905559999999", last_message_at=ago(hours=1))
    LeadFactory(name="Ayşe Demir", phone="+905558888888")
    unnamed = unnamed_lead_name()
    nameless = [LeadFactory(name=unnamed, phone=f"+90555777000{n}") for n in range(2)]

    assert lead_duplicates(lead=lead) == [same_digits, same_name]  # the number first
    assert lead_duplicates(lead=nameless[0]) == [], "the name every unnamed lead has tells nobody apart"
    by_phone = set(Lead.objects.filter(leads_with_duplicates_q(by="phone")))
    by_name = set(Lead.objects.filter(leads_with_duplicates_q(by="name")))
    assert (by_phone, by_name) == ({lead, same_digits}, {lead, same_name})
