"""Django's PostgreSQL backend, with a connection pool that recovers from a database restart at once.

After PostgreSQL restarts (or a failover), every connection resting in the pool is dead. Django gives psycopg's
pool a check on checkout (CONN_HEALTH_CHECKS), but the pool tries its connections one at a time and waits
longer after each failed check (1 s, 2 s, 4 s...), so with a few dead ones a request runs out of the pool's
timeout and gets a 503 (a webhook so refused is lost). Here a failed check makes the pool check every resting
connection at once (psycopg's `ConnectionPool.check()`: the dead ones are replaced), so the request that met
the first dead connection waits one short pause and gets a live one.

The check itself asks the connection's socket first: a connection the server closed (a restart, a terminated
backend) has its goodbye or its end waiting to be read. One with nothing to read is handed out without the
round trip to the server that psycopg's check costs on every request; any other is checked the usual way.

`prepared_cursor()` is a cursor whose statements the server prepares once per connection (planned once, not on
every execution), for the hottest write: Django's own cursors interpolate values client-side and are never
prepared. DATABASE_PREPARED_STATEMENTS=false prepares nothing.
"""

import select

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base

PREPARE_WHEN_ASKED = 2**31  # a threshold no query reaches: only what is executed with prepare=True is prepared


class PreparingCursor(base.ServerBindingCursor):
    """Values bound by the server, and the statement prepared on its first execution on the connection.

    psycopg prepares only while the connection's prepare_threshold is set, and while it is set it also counts
    every other query's text (Django's, each with its values in it: a bulk insert's runs to megabytes) in a cache
    of a hundred. So it is set for this statement's execution only, and put back to what it was (Django's None)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if not settings.DATABASE_PREPARED_STATEMENTS:
            return super().execute(query, params, binary=binary)
        connection = self.connection
        threshold = connection.prepare_threshold
        connection.prepare_threshold = PREPARE_WHEN_ASKED if threshold is None else threshold
        try:
            return super().execute(query, params, prepare=True, binary=binary)
        finally:
            connection.prepare_threshold = threshold


class DatabaseWrapper(base.DatabaseWrapper):
    def prepared_cursor(self):
        """As `cursor()` (the same checks, wrapping, query logging), but a PreparingCursor."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(PreparingCursor(self.connection))

    @property
    def pool(self):
        """As Django builds it (django/db/backends/postgresql/base.py), but for the check given to the pool."""
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            from psycopg_pool import ConnectionPool

            alias = self.alias

            def check(conn) -> None:
                if quiet(conn):
                    return
                try:
                    ConnectionPool.check_connection(conn)
                except Exception:
                    self._connection_pools[alias].check()  # replace every other dead connection now
                    raise

            pool = ConnectionPool(
                kwargs={**self.get_connection_params(), "autocommit": True},  # Django sets autocommit later on
                open=False,
                configure=self._configure_connection,
                check=check if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                **({} if pool_options is True else pool_options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]


def quiet(conn) -> bool:
    """An idle connection the server has said nothing on since it was last used: alive as far as can be told."""
    if conn.closed or conn.broken or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return False
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return not readable
