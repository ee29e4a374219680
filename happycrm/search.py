"""Search that ignores case and accents the same way on SQLite and PostgreSQL.

Neither database folds Turkish on its own (SQLite's LIKE only folds ASCII; PostgreSQL's
ILIKE follows the collation, which makes `İ` and `i` differ and keeps `ş` apart from `s`),
so every searchable text is folded once in Python, stored beside the original, and the
search term is folded the same way: `Ayşe`, `AYŞE` and `ayse` are all `ayse`. On
PostgreSQL the folded columns carry a trigram index, so `LIKE '%term%'` is an index scan.
"""

import unicodedata

from django.db import models

from happycrm import crypto

# Trigrams need three characters: a shorter term cannot use the index, so it only searches small tables.
MIN_INDEXED_TERM = 3

_DOTLESS = str.maketrans({"ı": "i"})  # the one Turkish letter NFKD leaves as it is (İ decomposes to I + dot)


def fold(text: str) -> str:
    """Lower case, no accents, Turkish dotted and dotless i both `i`, whitespace collapsed, control characters gone."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(char)
    return " ".join("".join(kept).translate(_DOTLESS).split())


class FoldedTextField(models.TextField):
    """The folded copy of another field of the row, written on every save and `bulk_create()` (through `pre_save`).

    `save(update_fields=[source])` must name this field too: models with one list it through `folded_update_fields`.
    """

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, value in (("editable", False), ("blank", True), ("default", "")):
            if kwargs.get(key, value) == value:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        """Empty while the source is encrypted (MESSAGE_ENCRYPTION_KEYS): no plaintext copy of it is kept."""
        source = model_instance._meta.get_field(self.source)
        if getattr(source, "encrypted", False) and crypto.enabled():
            value = ""
        else:
            value = fold(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value


def folded_update_fields(model: type[models.Model], update_fields):
    """`update_fields` with the folded copy of every field it names, so a partial save never leaves one stale."""
    if update_fields is None:
        return None
    names = set(update_fields)
    for field in model._meta.concrete_fields:
        if isinstance(field, FoldedTextField) and field.source in names:
            names.add(field.name)
    return names


def fill_folded_column(app_label: str, model_name: str, field_name: str, batch: int = 2000):
    """A data migration's step: fold the existing rows' source text in batches, each committed on its own."""

    def forwards(apps, schema_editor):
        from django.db import transaction

        model = apps.get_model(app_label, model_name)
        field = model._meta.get_field(field_name)
        connection = schema_editor.connection
        rows = model._base_manager.using(connection.alias).order_by("pk")
        last = None
        while True:
            chunk = rows.filter(pk__gt=last) if last is not None else rows
            pairs = list(chunk.values_list("pk", field.source)[:batch])
            if not pairs:
                return
            last = pairs[-1][0]
            folded = [(pk, fold(text or "")) for pk, text in pairs]
            with transaction.atomic(using=connection.alias):
                if connection.vendor == "postgresql":
                    table, column = model._meta.db_table, field.column
                    pk_type = model._meta.pk.db_type(connection)
                    with connection.cursor() as cursor:
                        cursor.execute(
                            f'UPDATE "{table}" AS t SET "{column}" = v.folded '  # noqa: S608 -- names from the model
                            f"FROM unnest(%s::{pk_type}[], %s::text[]) AS v(pk, folded) "
                            f'WHERE t."{model._meta.pk.column}" = v.pk',
                            [[pk for pk, _ in folded], [text for _, text in folded]],
                        )
                else:
                    objs = [model(pk=pk, **{field.attname: text}) for pk, text in folded]
                    model._base_manager.using(connection.alias).bulk_update(objs, [field.name], batch_size=500)

    return forwards


def trigram_index(table: str, column: str, name: str):
    """A migration operation: a trigram GIN index so `LIKE '%term%'` on the column is an index scan.

    PostgreSQL only (SQLite has no such index and searches its smaller data by scanning), built concurrently so
    a large table keeps taking writes; the migration using it must be `atomic = False`.
    """
    from django.db import migrations

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" USING gin ("{column}" gin_trgm_ops)'
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')

    return migrations.RunPython(forwards, backwards)
