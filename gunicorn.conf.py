"""The web server's settings, read by `gunicorn happycrm.wsgi:application` from the working directory.

The Dockerfile, docker-compose.yml and the README start gunicorn through this file; options given on the
command line (or in GUNICORN_CMD_ARGS) override these.
"""

import os
import sys

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"  # a platform (or the benchmarks) may set PORT
workers = 2
# Each open agent page holds a thread for its live stream.
threads = 16


def on_starting(server):
    """Refuse to start on a failing Django system check (static files not collected, ...): one line each."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happycrm.settings.production")
    import django
    from django.core import checks

    django.setup()
    errors = [message for message in checks.run_checks() if message.is_serious()]
    if errors:
        sys.exit("\n".join(f"{error.id}: {error.msg}" for error in errors))
