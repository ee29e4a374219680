"""Docker cannot run here: the compose file is checked as data — services, wiring and variable names."""

import json
import re
import shlex

import pytest
import yaml

from happycrm.settings.base import BASE_DIR
from happycrm.tests.test_settings import variables_read_by_settings

APP_SERVICES = ["release", "web", "stream", "worker", "beat"]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_the_stack_has_every_service(compose):
    assert {"web", "worker", "beat", "db", "redis", "s3"} <= set(compose["services"])
    assert compose["services"]["db"]["image"].startswith("postgres:")
    assert compose["services"]["redis"]["image"].startswith("redis:")


def test_app_services_share_one_image_and_configuration(compose):
    services = compose["services"]
    envs = [services[name]["environment"] for name in APP_SERVICES]
    assert all(env == envs[0] for env in envs)
    assert {services[name]["image"] for name in APP_SERVICES} == {"happycrm"}
    assert all(services[name]["build"] == "." for name in APP_SERVICES)
    assert (BASE_DIR / "Dockerfile").exists()
    for name in APP_SERVICES:
        assert {"db", "redis"} <= set(services[name]["depends_on"])
    for name in ["web", "stream", "worker", "beat"]:
        assert services[name]["depends_on"]["release"] == {"condition": "service_completed_successfully"}


def procfile() -> dict[str, str]:
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def as_started(command: str) -> str:
    """What the container's process runs: compose's `$$` is a literal `$`; `sh -c "exec …"` only expands $PORT."""
    command = command.replace("$$", "$")
    words = shlex.split(command)
    if words[:2] == ["sh", "-c"] and len(words) == 3:
        command = words[2].removeprefix("exec ")
    return command


def test_the_procfile_declares_each_process_once():
    processes = procfile()
    assert set(processes) == {"release", "web", "stream", "worker", "bulk", "hooks", "beat"}
    assert processes["web"] == "gunicorn happycrm.wsgi:application"  # settings from gunicorn.conf.py
    assert processes["stream"].startswith("uvicorn happycrm.asgi:application ")
    assert "--port ${PORT:-8001}" in processes["stream"]
    assert processes["worker"] == "celery -A happycrm worker --loglevel INFO --queues celery"
    assert processes["bulk"].startswith("celery -A happycrm worker --loglevel INFO --queues campaigns ")
    assert processes["hooks"].startswith("celery -A happycrm worker --loglevel INFO --queues webhooks ")
    assert processes["beat"].startswith("celery -A happycrm beat")
    assert "nice" not in " ".join(processes.values())  # the worker runs at normal priority


def test_compose_and_the_dockerfile_run_the_procfiles_commands(compose):
    services = compose["services"]
    for name, command in procfile().items():
        assert as_started(services[name]["command"]) == command, name
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (.+)$", dockerfile, flags=re.MULTILINE)
    assert " ".join(json.loads(cmd)) == procfile()["web"]


def test_the_proxy_sends_the_stream_to_the_stream_process_unbuffered(compose):
    proxy = compose["services"]["proxy"]
    assert proxy["image"].startswith("nginx:")
    (mount,) = proxy["volumes"]
    source, target, _ = mount.split(":")
    assert target == "/etc/nginx/nginx.conf"
    config = (BASE_DIR / source).read_text()
    stream = re.search(r"location = /events/stream \{(.*?)\}", config, flags=re.DOTALL).group(1)
    assert "proxy_pass http://stream;" in stream and "proxy_buffering off;" in stream
    assert re.search(r"location / \{\s*proxy_pass http://web;", config)
    assert "server stream:8001;" in config and "server web:8000;" in config
    assert "8001" in procfile()["stream"]
    assert "web" not in {name for name, service in compose["services"].items() if service.get("ports")}
    for name in ("stream", "proxy"):
        assert compose["services"][name]["ulimits"]["nofile"]["soft"] >= 4096  # 1,000 open pages and more


def test_variables_point_at_the_stack(compose):
    env = compose["services"]["web"]["environment"]
    assert env["DJANGO_SETTINGS_MODULE"] == "happycrm.settings.production"
    assert "@db:5432/" in env["DATABASE_URL"] and env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert env["AWS_S3_ENDPOINT_URL"] == "http://s3:9000"
    db_env = compose["services"]["db"]["environment"]
    assert env["DATABASE_URL"] == (
        f"postgres://{db_env['POSTGRES_USER']}:{db_env['POSTGRES_PASSWORD']}@db:5432/{db_env['POSTGRES_DB']}"
    )
    s3_env = compose["services"]["s3"]["environment"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        s3_env["MINIO_ROOT_USER"],
        s3_env["MINIO_ROOT_PASSWORD"],
    )
    assert env["AWS_STORAGE_BUCKET_NAME"] in compose["services"]["s3-bucket"]["entrypoint"]
    assert "?" in env["DJANGO_SECRET_KEY"], "the stack must refuse to start without a secret key"


def test_every_variable_is_one_the_settings_read(compose):
    env = compose["services"]["web"]["environment"]
    known = variables_read_by_settings() | {"DJANGO_SETTINGS_MODULE"}
    assert set(env) <= known
    contract = {
        "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL",
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER", "TWILIO_MESSAGING_SERVICE_SID",
        "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SENTRY_DSN",
    }  # fmt: skip
    assert contract <= set(env)
    passed_through = {m.group(1) for value in env.values() for m in re.finditer(r"\$\{(\w+)", str(value))}
    assert passed_through <= known
