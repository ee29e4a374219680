"""The content types of Campaign and CampaignRecipient follow them to this app: the same rows relabelled
(messaging → campaigns), so the permissions on them, the groups and users holding those, and the admin's log
entries stay as they were."""

from django.db import migrations

MODELS = ("campaign", "campaignrecipient")


def relabel(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in MODELS:
        kept = ContentType.objects.filter(app_label=source, model=model).first()
        if kept is None:
            continue  # a fresh database that never made them: post_migrate makes them under the new label
        made = ContentType.objects.filter(app_label=target, model=model).first()
        if made is not None:
            # Made meanwhile under the new label (a migrate stopped between 0001 and this one): what was granted
            # on it goes to the rows kept, then it goes.
            for permission in Permission.objects.filter(content_type=made):
                twin = Permission.objects.filter(content_type=kept, codename=permission.codename).first()
                if twin is not None:
                    twin.group_set.add(*permission.group_set.all())
                    twin.user_set.add(*permission.user_set.all())
            made.delete()
        kept.app_label = target
        kept.save(update_fields=["app_label"])


def forwards(apps, schema_editor):
    relabel(apps, "messaging", "campaigns")


def backwards(apps, schema_editor):
    relabel(apps, "campaigns", "messaging")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
