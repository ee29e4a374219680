"""Views marked @machine_endpoint are served by the WSGI application without the pages' middleware."""

import io
import sys

import pytest
from django.contrib import admin
from django.core import signals
from django.db import close_old_connections
from django.http import HttpResponse
from django.urls import include, path

from happycrm.endpoints import Application, machine_endpoint, machine_endpoint_paths

pytestmark = pytest.mark.django_db


@machine_endpoint
def machine(request):
    return HttpResponse(f"session={hasattr(request, 'session')} user={hasattr(request, 'user')}")


def page(request):
    return HttpResponse(f"session={hasattr(request, 'session')} user={hasattr(request, 'user')}")


@machine_endpoint
def machine_with_id(request, pk):
    return HttpResponse("")


nested = [path("hook", machine), path("hook/<int:pk>", machine_with_id), path("page", page)]
urlpatterns = [path("api/", include(nested)), path("page", page), path("admin/", admin.site.urls)]  # CSP reverses it


@pytest.fixture
def wsgi(settings):
    """The site's WSGI application on this module's URLs; connections stay open, as the test client leaves them."""
    settings.ROOT_URLCONF = __name__
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    application = Application()

    def call(path_info: str, method: str = "GET"):
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path_info, "QUERY_STRING": "", "SERVER_NAME": "testserver",
            "SERVER_PORT": "80", "HTTP_HOST": "testserver", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": True, "wsgi.run_once": False,
        }  # fmt: skip
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer.update(status=status, headers=dict(headers))

        result = application(environ, start_response)
        answer["body"] = b"".join(result).decode()
        result.close()
        return answer

    yield call
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_only_marked_views_at_fixed_paths_are_machine_endpoints(settings):
    settings.ROOT_URLCONF = __name__
    assert machine_endpoint_paths() == {"/api/hook"}


def test_a_machine_endpoint_gets_the_security_headers_and_nothing_of_the_pages(wsgi):
    answer = wsgi("/api/hook")
    assert answer["status"] == "200 OK"
    assert answer["body"] == "session=False user=False"
    headers = answer["headers"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Content-Length"] == str(len(answer["body"]))
    assert "Vary" not in headers and "Set-Cookie" not in headers


def test_every_other_path_goes_through_the_whole_stack(wsgi):
    for path_info in ("/page", "/api/page"):
        answer = wsgi(path_info)
        assert answer["body"] == "session=True user=True"
        assert "Content-Security-Policy" in answer["headers"]
    assert wsgi("/api/hook/3")["headers"].get("Content-Security-Policy")


def test_unknown_path_is_a_404_either_way(wsgi):
    assert wsgi("/api/nothing")["status"].startswith("404")
