"""One new row, inserted without the ORM's per-call work, for the hottest write (a webhook's event)."""

from functools import cache

from django.db import connections, router
from django.db.models import Model, signals


@cache
def _insert_sql(model: type[Model], alias: str) -> tuple[str, tuple]:
    connection = connections[alias]
    fields = tuple(field for field in model._meta.local_concrete_fields if not field.generated)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})", fields  # noqa: S608


def row_insert(instance: Model) -> Model:
    """`instance.save(force_insert=True)` for a model whose primary key is set in Python (a UUID default).

    The INSERT is built once per model, each value prepared as save() prepares it (the fields' pre_save and
    get_db_prep_save): `objects.create()` costs about 0.3 ms of CPU, this 0.2 ms (most of it the driver). A
    model with pre_save or post_save receivers is saved the usual way, so they run.
    """
    model = type(instance)
    if signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model) or instance.pk is None:
        instance.save(force_insert=True)
        return instance
    alias = router.db_for_write(model, instance=instance)
    connection = connections[alias]
    sql, fields = _insert_sql(model, alias)
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    instance._state.adding, instance._state.db = False, alias
    return instance
