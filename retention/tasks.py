from celery import shared_task

from .services import retention_prune


@shared_task(name="retention.prune")
def prune() -> dict:
    """The hourly retention run (Celery beat); a kind that failed makes the task fail after the others ran."""
    run = retention_prune()
    if run.failed:
        raise RuntimeError(
            f"Retention run {run.pk} failed for: " + ", ".join(k for k, r in run.results.items() if r["error"])
        )
    return run.results
