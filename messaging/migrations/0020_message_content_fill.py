"""Give the messages received before `content` existed theirs, read from the details their provider's parser kept
(each provider turns its own names into ours: messaging.backends.base.BaseBackend.details_content), and the vCards
stored before their contacts were read theirs, from the stored files. In batches; safe to run again."""

from django.db import migrations

BATCH = 1000


def fill_content(Message):
    from messaging.backends.base import backend_for_provider
    from messaging.services.content import stored_details_content

    backends = {}
    messages = (
        Message.objects.filter(is_from_lead=True, content={})
        .exclude(metadata={})
        .only("pk", "provider", "metadata", "content")
        .order_by("pk")
    )
    last = None
    while True:
        batch = list((messages.filter(pk__gt=last) if last else messages)[:BATCH])
        if not batch:
            return
        changed = []
        for message in batch:
            if message.provider not in backends:
                try:
                    backends[message.provider] = backend_for_provider(message.provider)
                except LookupError:  # a provider no longer known: its messages keep their details only
                    backends[message.provider] = None
            backend = backends[message.provider]
            if backend is None or not isinstance(message.metadata, dict):
                continue
            message.content = stored_details_content(backend=backend, details=message.metadata)
            if message.content:
                changed.append(message)
        Message.objects.bulk_update(changed, ["content"])
        last = batch[-1].pk


def fill_contacts(MessageMedia):
    from messaging.vcard import MAX_BYTES, read_contacts

    cards = MessageMedia.objects.filter(content_type="text/vcard", status="stored", contacts=[]).exclude(file="")
    for media in cards.only("pk", "file", "contacts").order_by("pk").iterator(chunk_size=BATCH):
        try:
            with media.file.open("rb") as stored:
                data = stored.read(MAX_BYTES + 1)
        except (OSError, ValueError):  # the file is gone (or unreadable): the bubble keeps its download link
            continue
        if contacts := read_contacts(data):
            MessageMedia.objects.filter(pk=media.pk).update(contacts=contacts)


def fill(apps, schema_editor):
    fill_content(apps.get_model("messaging", "Message"))
    fill_contacts(apps.get_model("messaging", "MessageMedia"))


class Migration(migrations.Migration):
    dependencies = [("messaging", "0019_message_content")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
