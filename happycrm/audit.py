"""Who changed what from the operator console and the commands, in Django's admin log (LogEntry): the admin shows
it in each object's history and under "Recent actions".

Custom admin actions pass the request's user. Commands pass `command_user()`: a built-in "system" account that
cannot log in, with the operating-system login of whoever ran the command in the message."""

import getpass
from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.utils.translation import gettext as _

SYSTEM_USERNAME = "system"
MAX_REPR = 200  # LogEntry.object_repr's length


def command_user():
    """The account commands are recorded under (made on first use, no usable password, not staff)."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "first_name": "System"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def command_by() -> str:
    """Who ran a command, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def command_message(command: str, what: str) -> str:
    """A command's line in the log: which command, who ran it, what it did."""
    values = {"command": command, "who": command_by(), "what": what}
    return _("manage.py %(command)s, run by %(who)s: %(what)s") % values


def audit_record(*, user, message: str, objects: Iterable[Model] = (), model: type[Model] | None = None,
                 deleted: bool = False) -> int:  # fmt: skip
    """One line per object (`objects`) or, for an action on many at once or on none in particular, one line on
    `model`. `deleted` for objects that are gone (their repr is what is kept). Returns the lines written."""
    flag = DELETION if deleted else CHANGE
    entries = [
        LogEntry(
            user_id=user.pk,
            content_type_id=ContentType.objects.get_for_model(obj, for_concrete_model=False).pk,
            object_id=str(obj.pk),
            object_repr=str(obj)[:MAX_REPR],
            action_flag=flag,
            change_message=message,
        )
        for obj in objects
    ]
    if not entries and model is not None:
        entries = [
            LogEntry(
                user_id=user.pk,
                content_type_id=ContentType.objects.get_for_model(model, for_concrete_model=False).pk,
                object_repr=str(model._meta.verbose_name_plural)[:MAX_REPR],
                action_flag=flag,
                change_message=message,
            )
        ]
    LogEntry.objects.bulk_create(entries)
    return len(entries)


def audit_history_erase(*, model: type[Model], object_ids: Iterable) -> int:
    """Remove the admin history of objects being erased (each line keeps the object's name): lines removed."""
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    deleted, _ = LogEntry.objects.filter(
        content_type=content_type, object_id__in=[str(pk) for pk in object_ids]
    ).delete()
    return deleted


def audit_history_count(*, model: type[Model], object_ids: Iterable) -> int:
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    return LogEntry.objects.filter(content_type=content_type, object_id__in=[str(pk) for pk in object_ids]).count()
