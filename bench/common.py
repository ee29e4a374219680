"""What the benchmarks share: their own PostgreSQL database and Redis database, and a free port."""

import os
import resource
import socket
import time

import psycopg
import redis

PG = "postgres://postgres@127.0.0.1:5432"
DB_NAME = os.environ.get("BENCH_DB_NAME", "happycrm_bench")  # another name, for two benchmarks at once
DATABASE_URL = f"{PG}/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def drop_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def fresh_database() -> None:
    """An empty benchmark database and an empty Redis database."""
    drop_database()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    redis.Redis.from_url(REDIS_URL).flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and every process under it that is still running."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except FileNotFoundError:
            continue  # it ended meanwhile
    return total


def machine_cpu_seconds() -> float:
    """CPU time the whole machine spent busy (every core, everything but idle and I/O wait)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS


class CpuMeter:
    """CPU seconds spent by each process (and this load generator, and the machine) between start and stop."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids

    def _read(self) -> dict[str, float]:
        # The load generator: this process and what it ran and waited for meanwhile (wrk).
        own = sum(
            usage.ru_utime + usage.ru_stime
            for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        )
        readings = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return {**readings, "load generator": own, "machine": machine_cpu_seconds()}

    def start(self) -> None:
        self._started, self._at = self._read(), time.perf_counter()

    def stop(self) -> dict[str, float]:
        stopped, elapsed = self._read(), time.perf_counter() - self._at
        used = {name: stopped[name] - self._started[name] for name in stopped}
        used["PostgreSQL, Redis and the rest"] = used["machine"] - sum(
            value for name, value in used.items() if name != "machine"
        )
        return {"elapsed": elapsed, **used}


def settle(connection, timeout: float = 120.0) -> None:
    """Wait until no autovacuum worker runs on this database (a bulk load wakes them): they would share the CPU
    with the timing."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'autovacuum worker'"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(1)
