from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from encryption.services import EncryptionRefused, encryption_decrypt, encryption_rotate, encryption_status
from happycrm import crypto
from happycrm.crypto_rows import REWRITE_BATCH


class Command(BaseCommand):
    help = (
        "Encryption at rest of message content (MESSAGE_ENCRYPTION_KEYS): `status` counts the stored values per key, "
        "`rotate` encrypts every value under the newest key, `decrypt` stores them in plaintext again."
    )
    # Its own checks: `status` must run when a key is missing, to say which rows need it.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "rotate", "decrypt"])
        parser.add_argument("--batch-size", type=int, default=REWRITE_BATCH, help="Rows per transaction (500).")

    def handle(self, *args, action, batch_size, **options):
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        try:
            crypto.keyring()
            if action == "status":
                return self.status()
            rewrite = encryption_rotate if action == "rotate" else encryption_decrypt
            done = rewrite(batch_size=batch_size, progress=self.progress)
        except (EncryptionRefused, ImproperlyConfigured, crypto.UnknownKeyError, crypto.DecryptionError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_("%(count)s rows and files rewritten.") % {"count": done})
        self.status()

    def progress(self, what: str, done: int) -> None:
        self.stdout.write(_("%(what)s: %(count)s rewritten") % {"what": what, "count": done})

    def status(self) -> None:
        counts = encryption_status()
        ring = crypto.keyring()
        for name, counter in counts.items():
            parts = [
                f"{kid}{'' if kid == 'plaintext' or kid in ring.key_ids else ' (' + _('unknown key') + ')'}={n}"
                for kid, n in sorted(counter.items())
            ]
            self.stdout.write(f"{name}: {', '.join(parts) or '-'}")
        newest = ring.primary or "plaintext"
        self.stdout.write(_("New values are written as: %(key)s") % {"key": newest})
