"""The ASGI application: the stream process (`uvicorn happycrm.asgi:application`, see the Procfile) and `make run`.

Django's application, plus the ASGI lifespan: a starting server runs the start-up checks (happycrm.startup) and
fails to start on one, a stopping server ends its open streams and closes its subscription (notifications.hub).
With DEBUG on (`make run`) it serves the static files too, as runserver does.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happycrm.settings.production")

django_application = get_asgi_application()

from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402 -- after the settings are configured
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from happycrm.startup import startup_checks_run  # noqa: E402

if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_application = ASGIStaticFilesHandler(django_application)


async def application(scope, receive, send):
    if scope["type"] != "lifespan":
        return await django_application(scope, receive, send)
    from notifications.hub import hubs_stop

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:  # in a thread: the checks read the database, which an event loop's thread may not
                await sync_to_async(startup_checks_run, thread_sensitive=False)()
            except ImproperlyConfigured as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await hubs_stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
