import datetime

from django.db.models import IntegerField, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from .models import PruneRun
from .services import KINDS


def retention_summary(*, days: int = 30) -> dict:
    """What retention pruned: per kind its age, the rows the latest run deleted and those of the last `days` days
    (summed by the database: a month of hourly runs is 720 rows); the latest run itself. Two queries."""
    runs = PruneRun.objects.filter(started_at__gte=timezone.now() - datetime.timedelta(days=days))
    totals = runs.aggregate(
        **{kind.key: Sum(Cast(KT(f"results__{kind.key}__deleted"), IntegerField())) for kind in KINDS}
    )
    latest = runs.order_by("-started_at").first()
    kinds = []
    for kind in KINDS:
        latest_result = latest.results.get(kind.key, {}) if latest else {}
        kinds.append(
            {
                "key": kind.key,
                "label": kind.label,
                "days": kind.days,
                "latest": latest_result.get("deleted"),
                "error": latest_result.get("error", ""),
                "total": totals[kind.key] or 0,
            }
        )
    return {"latest": latest, "kinds": kinds, "days": days}
