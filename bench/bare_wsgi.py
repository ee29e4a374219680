"""The ceiling of the web benchmarks: a WSGI app that answers 200 and does nothing (no Django, no database),
served by the same gunicorn settings (gunicorn.conf.py) as the project."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]
