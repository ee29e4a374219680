import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happycrm.settings.production")
django.setup(set_prefix=False)  # as get_wsgi_application() does

from happycrm.endpoints import Application  # noqa: E402 -- needs the apps loaded
from happycrm.startup import startup_checks_run  # noqa: E402

startup_checks_run()

application = Application()
