"""The project's ASGI application under uvicorn in a thread of the test process, on a free port: the stream
tests and the browser tests' live server (an endless stream needs an ASGI server; WSGI would wait for its end)."""

import asyncio
import threading
import time

import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.test.utils import modify_settings

from happycrm.tests.broker import free_port


class AsgiServer:
    def __init__(self, *, static: bool = True):
        from happycrm.asgi import application

        self.host = "127.0.0.1"
        self.port = free_port()
        self.url = f"http://{self.host}:{self.port}"
        inner = ASGIStaticFilesHandler(application) if static else application
        self.loop = None  # the server's event loop (its stream hub is notifications.hub._hubs[loop])

        async def app(scope, receive, send):
            self.loop = asyncio.get_running_loop()
            return await inner(scope, receive, send)

        config = uvicorn.Config(
            app, host=self.host, port=self.port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        # What pytest-django's live_server_helper enables around each test.
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": self.host})

    def start(self) -> "AsgiServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Until no request is in flight (a closed page's last requests): a test's flush must not meet them."""
        deadline = time.monotonic() + timeout
        while self.server.server_state.tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __str__(self):
        return self.url
