"""Endpoints that other servers call (a provider's webhook), served without the pages' middleware.

Such a request never carries a session, a CSRF token, a language choice or a login, and its answer is never a
page: sessions, authentication, CSRF, messages, locale, CSP, htmx and the login lockout do nothing for it but
cost about a quarter of its time. The WSGI application sends the exact paths of views marked
`@machine_endpoint` through a handler with ENDPOINT_MIDDLEWARE (the security headers) instead. Django's own
handling stays: URL resolution, the view, the 500/503 handler, request signals, Sentry's instrumentation.
"""

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils.module_loading import import_string


def machine_endpoint(view):
    """Mark a view as called by servers only (it must not need a session, a user or CSRF protection)."""
    view.machine_endpoint = True
    return view


def machine_endpoint_paths(patterns=None, prefix: str = "/") -> set[str]:
    """The paths of the marked views: routes without converters only, so a path is matched exactly."""
    paths = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if not isinstance(pattern.pattern, RoutePattern) or pattern.pattern.converters:
            continue
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            paths |= machine_endpoint_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and getattr(pattern.callback, "machine_endpoint", False):
            paths.add(route)
    return paths


class MachineEndpointHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        """Django's chain (BaseHandler.load_middleware) of ENDPOINT_MIDDLEWARE: plain synchronous middleware."""
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.ENDPOINT_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


class Application:
    """The site's WSGI application: Django's handler, and the lighter one for the machine endpoints' paths."""

    def __init__(self):
        self.pages = WSGIHandler()
        self.endpoints = MachineEndpointHandler()
        self.endpoint_paths = frozenset(machine_endpoint_paths())

    def __call__(self, environ, start_response):
        handler = self.endpoints if environ.get("PATH_INFO") in self.endpoint_paths else self.pages
        return handler(environ, start_response)
