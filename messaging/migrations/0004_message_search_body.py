from django.db import migrations, models

from happycrm.search import FoldedTextField, fill_folded_column, trigram_index


class Migration(migrations.Migration):
    """Messages' folded text, filled for existing rows in batches, with a trigram index on PostgreSQL; and the
    starred messages' index, so a search's page does not scan every message for the starred flag.

    Not atomic: each batch commits on its own and the index is built without locking out writes.
    """

    atomic = False

    dependencies = [
        ("messaging", "0003_campaigns"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="search_body",
            field=FoldedTextField(source="body", verbose_name="body for search"),
        ),
        migrations.RunPython(fill_folded_column("messaging", "Message", "search_body"), migrations.RunPython.noop),
        trigram_index("messaging_message", "search_body", "message_search_body_trgm"),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(condition=models.Q(("is_starred", True)), fields=["lead"], name="message_starred_idx"),
        ),
    ]
