"""Keyset pages of a thread (a lead's messages, its notes): on (created_at, id), newest first or oldest first."""

from django.db.models import Q, QuerySet


def keyset_page(rows: QuerySet, *, before=None, after=None, size: int) -> tuple[list, bool]:
    """A page of `rows`, oldest first, and whether more lie beyond it the way it was read: the newest `size` (older
    than the row `before`, if given; then older ones may exist), or the `size` oldest newer than the row `after`
    (then newer ones may exist).

    The redundant bound on created_at alone is what lets an ordered index scan on (…, created_at) start at the
    cursor (an OR cannot bound it), so a page deep in the thread reads what the first does; the id only breaks ties
    among equal times."""
    if after is not None:
        rows = rows.filter(
            Q(created_at__gt=after.created_at) | Q(created_at=after.created_at, pk__gt=after.pk),
            created_at__gte=after.created_at,
        ).order_by("created_at", "pk")
    else:
        rows = rows.order_by("-created_at", "-pk")
        if before is not None:
            rows = rows.filter(
                Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk),
                created_at__lte=before.created_at,
            )
    page = list(rows[: size + 1])
    more = len(page) > size
    page = page[:size]
    return (page if after is not None else list(reversed(page))), more
