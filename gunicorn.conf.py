"""The web server's settings, read by `gunicorn happycrm.wsgi:application` (the Procfile's `web`) from the working
directory.

The Procfile, the Dockerfile, docker-compose.yml and the README start gunicorn through this file; options given on
the command line (or in GUNICORN_CMD_ARGS) override these. The live stream (/events/stream) is not served here but
by the `stream` process (uvicorn), so every thread here serves requests.
"""

import os
import sys

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"  # a platform that runs the Procfile sets PORT
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads cover a request waiting on PostgreSQL (the webhook's commit): 2 x 4 reached the plateau of the webhook
# benchmark, more threads only queued on the two cores. No open page holds one any more: the stream process serves
# them. Keep DJANGO_DB_POOL_SIZE at least this.
threads = 4


def on_starting(server):
    """Refuse to start on a failing Django system check (static files not collected, ...): one line each."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happycrm.settings.production")
    import django
    from django.core import checks
    from django.db import connections

    django.setup()
    try:
        errors = [message for message in checks.run_checks() if message.is_serious()]
    finally:
        # Some checks read the database (the encryption keys in use). The workers are forked from this process: a
        # connection pool opened here would be inherited without its threads, and every request would wait on it.
        for connection in connections.all(initialized_only=True):
            connection.close()
            if hasattr(connection, "close_pool"):
                connection.close_pool()
    if errors:
        sys.exit("\n".join(f"{error.id}: {error.msg}" for error in errors))
