"""Campaign and CampaignRecipient, moved here from messaging with their tables (messaging_campaign,
messaging_campaignrecipient), constraints and indexes as they were: the state takes them over, the database is
left as it is (messaging 0009 removes them from messaging's state)."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("leads", "0003_lead_search_name"),
        ("messaging", "0009_campaigns_to_own_app"),
        ("templates_app", "0002_variables_without_nul"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Campaign',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('name', models.CharField(max_length=200, verbose_name='name')),
                        ('parameters', models.JSONField(blank=True, default=list, help_text='Values for {{4}}, {{5}}, … in order.', verbose_name='extra values')),
                        ('start_at', models.DateTimeField(blank=True, null=True, verbose_name='start at')),
                        ('status', models.CharField(choices=[('scheduled', 'Scheduled'), ('running', 'Running'), ('done', 'Done')], default='scheduled', max_length=16, verbose_name='status')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                        ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='started at')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                        ('template', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='templates_app.template', verbose_name='template')),
                    ],
                    options={
                        'verbose_name': 'campaign',
                        'verbose_name_plural': 'campaigns',
                        'db_table': 'messaging_campaign',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='CampaignRecipient',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('outcome', models.CharField(choices=[('pending', 'Pending'), ('queued', 'Queued'), ('skipped_opted_out', 'Skipped: opted out'), ('skipped_no_phone', 'Skipped: no phone'), ('skipped_refused', 'Skipped: cannot be sent')], default='pending', max_length=24, verbose_name='outcome')),
                        ('reason', models.TextField(blank=True, verbose_name='reason')),
                        ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='recipients', to='campaigns.campaign', verbose_name='campaign')),
                        ('lead', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='leads.lead', verbose_name='lead')),
                        ('message', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='campaign_recipient', to='messaging.message', verbose_name='message')),
                    ],
                    options={
                        'verbose_name': 'recipient',
                        'verbose_name_plural': 'recipients',
                        'db_table': 'messaging_campaignrecipient',
                        'ordering': ['id'],
                        'indexes': [models.Index(fields=['campaign', 'outcome'], name='campaign_outcome_idx')],
                        'constraints': [models.UniqueConstraint(fields=('campaign', 'lead'), name='campaign_lead_once')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
