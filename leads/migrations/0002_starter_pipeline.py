from django.conf import settings
from django.db import migrations
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

STARTER_STAGES = [
    gettext_noop("New"),
    gettext_noop("Contacted"),
    gettext_noop("Offer sent"),
    gettext_noop("Booked"),
    gettext_noop("Lost"),
]


def create_starter_pipeline(apps, schema_editor):
    """A fresh install gets a usable pipeline, named in the site's language, with "New" as the default."""
    Stage = apps.get_model("leads", "Stage")
    if Stage.objects.exists():
        return
    with translation.override(settings.LANGUAGE_CODE):
        for position, name in enumerate(STARTER_STAGES):
            Stage.objects.create(name=gettext(name), position=position, is_default=position == 0)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunPython(create_starter_pipeline, migrations.RunPython.noop)]
