"""Who has a lead's conversation open, and who is typing in it: told to the other agents' open pages at once,
never stored in the database.

A page with a conversation open says so every HEARTBEAT seconds; the shared cache remembers each (lead, agent) for
a little longer than that, so a page that closed without a word (a lost network, a killed tab) drops out by
itself. Each change is also a transient signal on the broadcast channel (notifications.broadcast), which the
stream processes hand to every other open page at once.
"""

from django.core.cache import cache

from .broadcast import publish

HEARTBEAT = 20  # seconds between a page's "still here"
EXPIRES = 45  # a viewer not heard of for this long has left
VIEWING, TYPING, LEFT = "viewing", "typing", "left"
STATES = (VIEWING, TYPING, LEFT)


def _key(lead_id, user_id) -> str:
    return f"happycrm:viewing:{lead_id}:{user_id}"


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def presence_signal(*, lead_id, user, state: str) -> None:
    """The agent has the lead's conversation open (`viewing`), is typing a reply in it (`typing`, which is viewing
    too) or closed it (`left`): remembered for the pages that open it next, and told to the open ones now."""
    if state == LEFT:
        cache.delete(_key(lead_id, user.pk))
    else:
        cache.set(_key(lead_id, user.pk), _name(user), EXPIRES)
    publish({"kind": "presence", "lead_id": str(lead_id), "user_id": user.pk, "name": _name(user), "state": state})


def lead_viewers(*, lead_id, user_ids) -> list[dict]:
    """Which of `user_ids` (the team) have the lead's conversation open now: one read of the cache."""
    found = cache.get_many([_key(lead_id, user_id) for user_id in user_ids])
    return [
        {"user_id": user_id, "name": found[_key(lead_id, user_id)]}
        for user_id in user_ids
        if _key(lead_id, user_id) in found
    ]
