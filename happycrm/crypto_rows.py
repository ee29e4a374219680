"""A model's encrypted columns as stored: how many values each key encrypted, and rewriting them in batches.

Each app calls these for its own models (through its services); `manage.py encryption` calls the apps. The
stored text is read through a cast (the field's own decoding is bypassed), so a value's key id is read in SQL.
"""

from collections import Counter
from collections.abc import Callable

from django.db import models, transaction
from django.db.models import Case, Count, Q, TextField, Value, When
from django.db.models.functions import Cast, Substr

from happycrm import crypto
from happycrm.search import FoldedTextField, fold

KEY_ID_LENGTH = 8
EMPTY_STORED = ("", "{}", "[]", "null", '""')
PLAINTEXT = "plaintext"  # what the counts call a value stored unencrypted
REWRITE_BATCH = 500


def encrypted_fields(model: type[models.Model]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if getattr(field, "encrypted", False) and not isinstance(field, models.FileField)
    ]


def _stored(field: models.Field) -> str:
    return f"_stored_{field.attname}"


def _with_stored(queryset, fields):
    return queryset.annotate(**{_stored(field): Cast(field.attname, output_field=TextField()) for field in fields})


def _under(alias: str, kid: str = "") -> Q:
    """A stored value encrypted (under `kid` when given): as text, or as a JSON string."""
    return Q(**{f"{alias}__startswith": f"{crypto.PREFIX}{kid}"}) | Q(
        **{f"{alias}__startswith": f'"{crypto.PREFIX}{kid}'}
    )


def _empty(alias: str) -> Q:
    return Q(**{f"{alias}__isnull": True}) | Q(**{f"{alias}__in": EMPTY_STORED})


def model_key_counts(model: type[models.Model]) -> dict[str, Counter]:
    """{field name: {key id or "plaintext": values}}, empty values left out. One grouped scan per column."""
    counts = {}
    for field in encrypted_fields(model):
        alias = _stored(field)
        kid = Case(
            When(_empty(alias), then=Value("")),
            When(
                Q(**{f"{alias}__startswith": crypto.PREFIX}), then=Substr(alias, len(crypto.PREFIX) + 1, KEY_ID_LENGTH)
            ),
            When(
                Q(**{f"{alias}__startswith": f'"{crypto.PREFIX}'}),
                then=Substr(alias, len(crypto.PREFIX) + 2, KEY_ID_LENGTH),
            ),
            default=Value(PLAINTEXT),
            output_field=TextField(),
        )
        rows = (
            _with_stored(model._base_manager.order_by(), [field])
            .annotate(kid=kid)
            .values("kid")
            .annotate(n=Count("pk"))
            .values_list("kid", "n")
        )
        counts[field.name] = Counter({key: n for key, n in rows if key})
    return counts


def _needs_rewrite(fields, primary: str | None) -> Q:
    """Rows holding a value that is not stored as the newest key (or plaintext, for decryption) would write it."""
    condition = Q()
    for field in fields:
        alias = _stored(field)
        if primary is None:
            condition |= _under(alias)
        else:
            condition |= ~(_under(alias, f"{primary}:") | _empty(alias))
    return condition


def model_rewrite(
    model: type[models.Model], *, batch_size: int = REWRITE_BATCH, progress: Callable[[int], None] | None = None
) -> int:
    """Every row whose encrypted columns are not all under the newest key (or, writing plaintext, not all
    plaintext) read and written again, `batch_size` rows per transaction, in primary key order: an interrupted
    run resumes where it stopped when run again. The folded search copies follow (emptied or filled again).
    Returns the rows rewritten; raises UnknownKeyError before writing a batch holding a value it cannot read."""
    fields = encrypted_fields(model)
    folded = [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, FoldedTextField) and field.source in {f.name for f in fields}
    ]
    primary = crypto.keyring().primary
    pending = _with_stored(model._base_manager.order_by("pk"), fields).filter(_needs_rewrite(fields, primary))
    names = [field.name for field in fields]
    done, last = 0, None
    while True:
        batch = pending.filter(pk__gt=last) if last is not None else pending
        with transaction.atomic():
            rows = list(batch.select_for_update().only("pk", *names)[:batch_size])
            if not rows:
                return done
            for row in rows:
                for field in folded:
                    setattr(row, field.attname, "" if primary else fold(getattr(row, field.source) or ""))
            model._base_manager.bulk_update(rows, names + [field.name for field in folded])
        done += len(rows)
        last = rows[-1].pk
        if progress:
            progress(done)
