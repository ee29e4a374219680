from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from messaging.demo import demo_data_seed

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "happycrm-demo"  # noqa: S105 -- printed on screen by design; refused with DEBUG off


class Command(BaseCommand):
    help = "Load demo stages, leads, conversations and templates, and a demo admin login (safe to run again)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo only runs with DJANGO_DEBUG on: demo data and a known password are not for production."
            )
        created = demo_data_seed()
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        self.stdout.write(
            "Demo data: {templates} templates, {leads} leads, {messages} messages created.".format(**created)
        )
        self.stdout.write(self.style.SUCCESS(f"Demo admin login: {DEMO_USERNAME} / {DEMO_PASSWORD}"))
