"""Every lead that has messages gets its current conversation: open, nobody's, opened at its first message and
answered at the first one an agent sent. The team resolves what is done."""

from django.db import migrations
from django.db.models import Min

BATCH = 2000


def open_conversations(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Message = apps.get_model("messaging", "Message")
    Conversation = apps.get_model("conversations", "Conversation")
    lead_ids = list(Lead.objects.filter(last_message_at__isnull=False).values_list("pk", flat=True).order_by("pk"))
    for start in range(0, len(lead_ids), BATCH):
        batch = lead_ids[start : start + BATCH]
        messages = Message.objects.filter(lead_id__in=batch).order_by().values("lead_id")
        opened = dict(messages.annotate(at=Min("created_at")).values_list("lead_id", "at"))
        answered = dict(
            messages.filter(sent_by__isnull=False).annotate(at=Min("created_at")).values_list("lead_id", "at")
        )
        Conversation.objects.bulk_create(
            [
                Conversation(lead_id=lead_id, status="open", opened_at=at, first_response_at=answered.get(lead_id))
                for lead_id, at in opened.items()
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0001_initial"),
        ("messaging", "0018_message_fewer_indexes"),
    ]

    operations = [migrations.RunPython(open_conversations, migrations.RunPython.noop, elidable=True)]
