"""Campaigns moved to their own app (campaigns), which takes the models over with their tables unchanged: here they
leave messaging's state only, nothing happens to the database.

After the roles migrations: on a fresh database they look the campaign permissions up in these historical models
(accounts 0002 and 0004 name them messaging.*), and campaigns 0002 carries those rows over to the new app."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0008_message_bulk"),
        ("accounts", "0004_roles_login_records"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="CampaignRecipient"),
                migrations.DeleteModel(name="Campaign"),
            ],
            database_operations=[],
        ),
    ]
