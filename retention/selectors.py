import datetime

from django.utils import timezone

from .models import PruneRun
from .services import KINDS


def retention_summary(*, days: int = 30) -> dict:
    """What retention pruned: per kind its age, the rows the latest run deleted and those of the last `days` days;
    the latest run itself (one query)."""
    runs = list(
        PruneRun.objects.filter(started_at__gte=timezone.now() - datetime.timedelta(days=days)).only(
            "started_at", "finished_at", "results"
        )
    )
    latest = runs[0] if runs else None
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
                "total": sum(run.results.get(kind.key, {}).get("deleted", 0) for run in runs),
            }
        )
    return {"latest": latest, "kinds": kinds, "runs": len(runs), "days": days}
