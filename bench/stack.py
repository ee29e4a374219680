"""The stack as users run it, for the benchmarks: each process started with its command from the root Procfile,
production settings, PostgreSQL and Redis (each benchmark's own database), the default log levels."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from common import DATABASE_URL, REDIS_URL, fresh_database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "bench-auth-token"
ACCOUNT = "AC" + "b" * 32


def procfile() -> dict[str, str]:
    """Each process's command, as the Procfile declares it."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            commands[name.strip()] = command.strip()
    return commands


def environment(port: int, **extra: str) -> dict[str, str]:
    """Production settings on the benchmark's database; nothing turned down (log levels as shipped)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "happycrm.settings.production",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "ERASURE_HMAC_KEY": "bench-" + "e" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "MESSAGING_BACKEND": "messaging.backends.simulator.SimulatorBackend",
        "PORT": str(port),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }
    env.pop("DJANGO_LOG_LEVEL", None)
    return env


def migrate(env: dict[str, str]) -> None:
    """As a deployment does: static files collected (the web process refuses to start without), then migrations."""
    fresh_database()
    for command in (["collectstatic", "--no-input", "-v0"], ["migrate", "--no-input", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def start(
    name: str, env: dict[str, str], *, command: str | None = None, port: int | None = None, log: Path | None = None
) -> subprocess.Popen:
    """Start the Procfile's `name` (or `command`) as a Procfile runner does: its line through the shell (which
    expands `${PORT:-8001}`), `$PORT` set to `port` if given, in its own process group; its output to `log`."""
    process_env = {**env, "PORT": str(port)} if port else env
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 -- closed with the process
    return subprocess.Popen(
        [shutil.which("sh"), "-c", f"exec {command or procfile()[name]}"],
        cwd=ROOT,
        env=process_env,
        start_new_session=True,
        stdout=output,
        stderr=output,
    )


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_logged(log: Path, words: str, timeout: float = 120) -> None:
    """Until a process's log says `words` (a Celery worker's "ready.", beat's first "Sending due task"): a run is
    measured from when its processes run, not while they load Django and Celery (seconds of CPU each)."""
    deadline = time.monotonic() + timeout
    while not log.exists() or words not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{log.name} did not say {words!r} within {timeout:.0f}s")
        time.sleep(0.2)


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port} within {timeout}s")
