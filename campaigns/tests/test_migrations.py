"""The move out of messaging keeps what a database held: the rows, who may do what with them, and which messages
were sent in bulk (messaging 0008 and 0009, campaigns 0001 and 0002, accounts 0005)."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from campaigns.models import Campaign
from messaging.models import Message

BEFORE = [("messaging", "0007_labels"), ("accounts", "0004_roles_login_records")]


def migrate(targets=None):
    """Migrate to `targets` (default: every app's latest); the historical models of what is applied then."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    loader = MigrationExecutor(connection).loader
    return loader.project_state(list(loader.applied_migrations)).apps


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_moving_campaigns_out_of_messaging_keeps_rows_permissions_and_bulk_messages():
    old = migrate(BEFORE)
    Permission = old.get_model("auth", "Permission")
    add_campaign = Permission.objects.get(content_type__app_label="messaging", codename="add_campaign")
    old.get_model("auth", "Group").objects.create(name="Kampanyacılar").permissions.add(add_campaign)
    lead = old.get_model("leads", "Lead").objects.create(name="Ayşe", phone="+905551234567")
    template = old.get_model("templates_app", "Template").objects.create(name="kis", content="Merhaba {{1}}")
    campaign = old.get_model("messaging", "Campaign").objects.create(name="Kış", template=template, status="done")
    OldMessage = old.get_model("messaging", "Message")
    sent = OldMessage.objects.create(lead=lead, body="Merhaba Ayşe", status="sent")
    OldMessage.objects.create(lead=lead, body="Bir cevap", status="sent")
    old.get_model("messaging", "CampaignRecipient").objects.create(
        campaign=campaign, lead=lead, message=sent, outcome="queued"
    )

    migrate()
    assert not ContentType.objects.filter(app_label="messaging", model__startswith="campaign").exists()
    group = Group.objects.get(name="Kampanyacılar")
    assert [(p.pk, p.content_type.app_label, p.codename) for p in group.permissions.all()] == [
        (add_campaign.pk, "campaigns", "add_campaign")
    ]
    moved = Campaign.objects.get()
    assert (moved.name, [r.message_id for r in moved.recipients.all()]) == ("Kış", [sent.pk])
    assert dict(Message.objects.values_list("body", "bulk")) == {"Merhaba Ayşe": True, "Bir cevap": False}
