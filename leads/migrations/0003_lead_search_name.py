from django.db import migrations

from happycrm.search import FoldedTextField, fill_folded_column, trigram_index


class Migration(migrations.Migration):
    """Leads' folded names, filled for existing rows in batches, with a trigram index on PostgreSQL.

    Not atomic: each batch commits on its own and the index is built without locking out writes.
    """

    atomic = False

    dependencies = [
        ("leads", "0002_starter_pipeline"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="search_name",
            field=FoldedTextField(source="name", verbose_name="name for search"),
        ),
        migrations.RunPython(fill_folded_column("leads", "Lead", "search_name"), migrations.RunPython.noop),
        trigram_index("leads_lead", "search_name", "lead_search_name_trgm"),
    ]
