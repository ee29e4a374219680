"""Reads of conversations."""

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    DurationField,
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import RowNumber

from happycrm.days import day_start, last_days, local_day
from happycrm.keyset import keyset_page
from happycrm.search import fold

from .models import Conversation, Mention, Note

CURRENT = (Conversation.Status.OPEN, Conversation.Status.SNOOZED)


def lead_conversations(*, lead_id) -> list[Conversation]:
    """Every episode of the lead, oldest first, with its assignee (a lead's data export)."""
    return list(Conversation.objects.filter(lead_id=lead_id).select_related("assignee").order_by("opened_at", "pk"))


def lead_conversation_counts(*, lead_id) -> dict[str, int]:
    """How many episodes and private notes the lead has (what its erasure removes)."""
    return {
        "conversations": Conversation.objects.filter(lead_id=lead_id).count(),
        "notes": Note.objects.filter(lead_id=lead_id).count(),
    }


def lead_current_conversation(*, lead_id) -> Conversation | None:
    """The lead's open or snoozed conversation, with its assignee; None when it has none (resolved, or never)."""
    return Conversation.objects.filter(lead_id=lead_id, status__in=CURRENT).select_related("assignee").first()


def lead_latest_conversation(*, lead_id) -> Conversation | None:
    """The lead's current conversation, else its latest (resolved) one, with its assignee; None before any."""
    return lead_current_conversation(lead_id=lead_id) or (
        Conversation.objects.filter(lead_id=lead_id).select_related("assignee").order_by("-opened_at", "-pk").first()
    )


def conversations_list(
    *,
    status: str = "",
    assignee_id: int | None = None,
    unassigned: bool = False,
    lead_id=None,
    mentioning=None,
    mentioned: bool | None = None,
) -> QuerySet[Conversation]:
    """The API's conversations, newest first (the id breaking ties, so a page never repeats or skips one), each
    with its lead and assignee: in `status`, `assignee_id`'s or nobody's (`unassigned`), of one lead; with
    `mentioned`, only those whose lead has a note mentioning `mentioning` they have not seen (or only the others)."""
    conversations = Conversation.objects.select_related("lead", "assignee").order_by("-opened_at", "-pk")
    if status:
        conversations = conversations.filter(status=status)
    if assignee_id is not None:
        conversations = conversations.filter(assignee_id=assignee_id)
    if unassigned:
        conversations = conversations.filter(assignee__isnull=True)
    if lead_id is not None:
        conversations = conversations.filter(lead_id=lead_id)
    if mentioned is not None:
        unseen = Q(lead_id__in=mentioned_lead_ids(user=mentioning))
        conversations = conversations.filter(unseen if mentioned else ~unseen)
    return conversations


def current_conversation_channel() -> Subquery:
    """For a query of leads: the channel chosen in each one's current conversation (None or "" when none was)."""
    current = Conversation.objects.filter(lead=OuterRef("pk"), status__in=CURRENT)
    return Subquery(current.values("channel")[:1])


def conversation_counts(*, user, status: str) -> dict[str, int]:
    """The current conversations in `status`: the user's, nobody's and all, in one index read."""
    return Conversation.objects.filter(status=status).aggregate(
        mine=Count("pk", filter=Q(assignee=user)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        all=Count("pk"),
    )


NOTE_FIELDS = (
    "id",
    "lead_id",
    "body",
    "created_at",
    "author_id",
    "author__username",
    "author__first_name",
    "author__last_name",
)


def lead_notes_between(*, lead_id, since=None, until=None) -> list[Note]:
    """The lead's notes from `since` (inclusive) to `until` (exclusive), oldest first, with their authors: the
    stretch of time a page of the thread covers (either bound open)."""
    notes = Note.objects.filter(lead_id=lead_id).select_related("author").only(*NOTE_FIELDS)
    if since is not None:
        notes = notes.filter(created_at__gte=since)
    if until is not None:
        notes = notes.filter(created_at__lt=until)
    return list(notes.order_by("created_at", "pk"))


def lead_notes_page(*, lead_id, before: Note | None = None, after: Note | None = None, size: int = 50):
    """A page of a lead's notes, oldest first, and whether more lie beyond it the way it was read (as
    messaging.selectors.thread_page reads messages): the newest `size` (older than `before`, if given), or the
    `size` oldest newer than `after`; each with its author and the ids of the agents it mentions. Keyset on
    (created_at, id) over note_thread_idx, so a page deep in the thread reads what the first does."""
    mentions = Prefetch("mentions", queryset=Mention.objects.only("pk", "note_id", "user_id").order_by("pk"))
    notes = Note.objects.filter(lead_id=lead_id).select_related("author").only(*NOTE_FIELDS).prefetch_related(mentions)
    return keyset_page(notes, before=before, after=after, size=size)


def mentioned_lead_ids(*, user):
    """The leads whose conversations mention `user` in a note they have not seen (a subquery's values)."""
    return Mention.objects.filter(user=user, seen_at__isnull=True).values("lead_id")


def mentions_unseen_count(*, user) -> int:
    """In how many conversations `user` is mentioned and has not looked yet (the unseen-mention index alone)."""
    return Mention.objects.filter(user=user, seen_at__isnull=True).values("lead_id").distinct().count()


# Response times are reported as the median and the 90th percentile, not the average: one lead answered after a
# weekend moves a small team's average by hours, while the median says how long a lead usually waits and the 90th
# percentile how long the slowest tenth wait. Both by nearest rank (a time that occurred), the same on every
# database: the row ranked ceil(p·n) among the n of its group.
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p as a fraction
TOTAL = "total"  # the grouping of all the period's rows together


def _rank_at(n: str, numerator: int, denominator: int):
    """ceil(n · numerator / denominator), in the database's integer division."""
    return (F(n) * numerator + (denominator - 1)) / denominator


def _percentiles(conversations, *, duration, groups: dict[str, Expression | None]) -> dict[str, dict]:
    """For each grouping (its name → what groups by it, None for all the rows): each group's count and the
    durations at the percentiles. Window functions rank the rows in the database, which returns only those at the
    wanted ranks: a few per group, never every row."""
    annotations, wanted = {"duration": duration}, Q()
    for name, key in groups.items():
        partition = [key] if key is not None else None
        if key is not None:
            annotations[f"{name}_key"] = key
        annotations[f"{name}_rank"] = Window(RowNumber(), partition_by=partition, order_by=[duration.asc()])
        annotations[f"{name}_n"] = Window(Count("*"), partition_by=partition)
        for numerator, denominator in PERCENTILES.values():
            wanted |= Q(**{f"{name}_rank": _rank_at(f"{name}_n", numerator, denominator)})
    found: dict[str, dict] = {name: {} for name in groups}
    for row in conversations.annotate(**annotations).filter(wanted).values(*annotations).order_by():
        for name in groups:
            rank, n = row[f"{name}_rank"], row[f"{name}_n"]
            group = found[name].setdefault(row.get(f"{name}_key", TOTAL), {"count": n, **dict.fromkeys(PERCENTILES)})
            for label, (numerator, denominator) in PERCENTILES.items():
                if rank == -(-n * numerator // denominator):
                    group[label] = row["duration"]
    return found


def _elapsed(end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F("opened_at"), output_field=DurationField())


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


NO_TIMES = {"count": 0, **dict.fromkeys(PERCENTILES)}


def conversation_reports(*, days: int = 30) -> dict:
    """The team's figures for the last `days` local days, in four queries whatever the number of conversations:
    per day, the conversations opened (and how many of them nobody answered yet) and resolved; the first-response
    and resolution times (count, median, 90th percentile) per day, per agent and over the period.

    A time counts on the day it ended (the first answer, the resolution), so a past day's figures stay as they
    were. A first response answers a lead: an episode an agent started has none to time. A resolution's time runs
    from the episode's opening to its resolution (a reopened one counts once, when it is resolved again). An
    agent is the conversation's assignee; those nobody has, and an agent's deleted since, are under None."""
    period = last_days(days)
    since = day_start(period[0])
    per_day = {day: {"day": day, "opened": 0, "unanswered": 0} for day in period}
    opened = (
        Conversation.objects.filter(opened_at__gte=since)
        .annotate(day=local_day("opened_at"))
        .values_list("day")
        .annotate(n=Count("*"), unanswered=Count("pk", filter=Q(first_response_at__isnull=True)))
        .order_by()
    )
    for day, n, unanswered in opened:
        if day in per_day:  # not a day ahead of the clock
            per_day[day].update(opened=n, unanswered=unanswered)
    times = {
        "first_response": _percentiles(
            Conversation.objects.filter(first_response_at__gte=since, first_response_at__gt=F("opened_at")),
            duration=_elapsed("first_response_at"),
            groups={"day": local_day("first_response_at"), "agent": F("assignee_id"), TOTAL: None},
        ),
        "resolution": _percentiles(
            Conversation.objects.filter(status=Conversation.Status.RESOLVED, resolved_at__gte=since),
            duration=_elapsed("resolved_at"),
            groups={"day": local_day("resolved_at"), "agent": F("assignee_id"), TOTAL: None},
        ),
    }
    for day, figures in per_day.items():
        figures.update({kind: found["day"].get(day, NO_TIMES) for kind, found in times.items()})
        figures["resolved"] = figures["resolution"]["count"]
    agent_ids = {agent_id for found in times.values() for agent_id in found["agent"]}
    named = agent_ids - {None}
    users = get_user_model().objects.only("username", "first_name", "last_name")
    agents = users.in_bulk(named) if named else {}
    rows = [
        {
            "agent": agents.get(agent_id),
            **{kind: found["agent"].get(agent_id, NO_TIMES) for kind, found in times.items()},
        }
        for agent_id in agent_ids
        if agent_id is None or agent_id in agents  # one deleted while this was read is under None next time
    ]
    rows.sort(key=lambda row: (row["agent"] is None, fold(_who(row["agent"]))))  # by name, nobody's last
    return {
        "days": list(per_day.values()),
        "agents": rows,
        "total": {kind: found[TOTAL].get(TOTAL, NO_TIMES) for kind, found in times.items()},
        "opened": sum(day["opened"] for day in per_day.values()),
        "unanswered": sum(day["unanswered"] for day in per_day.values()),
    }
