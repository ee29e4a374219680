from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import AGENTS, roles_sync
from happycrm.audit import audit_record, command_message, command_user
from leads.models import Lead
from messaging.demo import demo_data_seed

DEMO_USERNAME = "admin"
DEMO_AGENT_USERNAME = "agent"
DEMO_PASSWORD = "happycrm-demo"  # noqa: S105 -- printed on screen by design; refused with DEBUG off


class Command(BaseCommand):
    help = "Load demo stages, leads, conversations and templates, a demo admin and a demo agent (safe to run again)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo only runs with DJANGO_DEBUG on: demo data and a known password are not for production."
            )
        created = demo_data_seed()
        User = get_user_model()
        admin, _ = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"email": "admin@example.com"})
        admin.is_staff = admin.is_superuser = admin.is_active = True
        admin.set_password(DEMO_PASSWORD)
        admin.save()
        # An agent as the team would have one: the inbox through the Agents group, no admin.
        agent, _ = User.objects.get_or_create(username=DEMO_AGENT_USERNAME, defaults={"email": "agent@example.com"})
        agent.is_staff = agent.is_superuser = False
        agent.is_active = True
        agent.set_password(DEMO_PASSWORD)
        agent.save()
        if not Group.objects.filter(name=AGENTS).exists():
            roles_sync(apps)  # the migration made it; put it back if it was deleted since
        agent.groups.add(Group.objects.get(name=AGENTS))
        summary = "Demo data: {templates} templates, {leads} leads, {messages} messages created.".format(**created)
        if any(created.values()):
            audit_record(user=command_user(), message=command_message("seed_demo", summary), model=Lead)
        self.stdout.write(summary)
        self.stdout.write(self.style.SUCCESS(f"Demo admin login: {DEMO_USERNAME} / {DEMO_PASSWORD}"))
        self.stdout.write(self.style.SUCCESS(f"Demo agent login: {DEMO_AGENT_USERNAME} / {DEMO_PASSWORD}"))
