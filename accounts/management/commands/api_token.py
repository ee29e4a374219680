"""Personal API tokens for ops: `manage.py api_token create --user NAME --name LABEL [--expires-days N]` prints the
new token once; `list [--user NAME]` shows them without their secret; `revoke --key KEY` ends one."""

import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import api_token_by_key, api_tokens
from accounts.services import api_token_create, api_token_revoke
from happycrm.audit import audit_record, command_message, command_user
from happycrm.timestamps import local_timestamp


class Command(BaseCommand):
    help = "Create, list and revoke personal API tokens (Authorization: Bearer <token>)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="A new token for a user; printed once, never shown again.")
        create.add_argument("--user", required=True, help="The username the token acts as.")
        create.add_argument("--name", required=True, help="What the token is for (shown in the lists).")
        create.add_argument("--expires-days", type=int, help="Days until it stops working (default: never).")
        listing = actions.add_parser("list", help="The tokens, without their secret.")
        listing.add_argument("--user", help="Only this user's.")
        revoke = actions.add_parser("revoke", help="End a token at once.")
        revoke.add_argument("--key", required=True, help="The token's public start (as the list shows it).")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, *, user, name, expires_days, **options):
        owner = self._user(user)
        if expires_days is not None and expires_days < 1:
            raise CommandError(_("--expires-days must be 1 or more."))
        expires_at = timezone.now() + datetime.timedelta(days=expires_days) if expires_days else None
        try:
            token, secret = api_token_create(user=owner, name=name, expires_at=expires_at)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        what = _("API token “%(name)s” created for %(user)s.") % {"name": token.name, "user": owner}
        audit_record(user=command_user(), message=command_message("api_token", what), objects=[token])
        self.stderr.write(_("Shown once; store it now. Send it as: Authorization: Bearer <token>"))
        self.stdout.write(secret)

    def _list(self, *, user, **options):
        for token in api_tokens(user=self._user(user) if user else None):
            expiry = local_timestamp(token.expiry) if token.expiry else _("never")
            used = local_timestamp(token.last_used_at) if token.last_used_at else _("never")
            self.stdout.write(
                f"{token.token_key}\t{token.user.username}\t{token.name}\t"
                + _("expires: %(expiry)s, last used: %(used)s") % {"expiry": expiry, "used": used}
            )

    def _revoke(self, *, key, **options):
        token = api_token_by_key(key=key)
        if token is None:
            raise CommandError(_("No token starts with %(key)s.") % {"key": key})
        what = _("API token “%(name)s” of %(user)s revoked.") % {"name": token.name, "user": token.user}
        audit_record(user=command_user(), message=command_message("api_token", what), objects=[token], deleted=True)
        api_token_revoke(token=token)
        self.stdout.write(what)

    def _user(self, username):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user is called %(user)s.") % {"user": username})
        return user
