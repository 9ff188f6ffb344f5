"""Opening the store and keeping its schema current (Alembic, run programmatically)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from daypulse.errors import StoreError
from daypulse.warehouse import redact

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """Store URLs as users write them, mapped to the drivers daypulse ships with."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    def __init__(self, url: str):
        self.url = url
        if not url.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+psycopg:")):
            raise StoreError(f"unsupported store URL {redact(url)!r}: use sqlite:///file.db or"
                             " postgresql://...")
        try:
            self.engine: Engine = create_engine(sqlalchemy_url(url), future=True)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise StoreError(f"bad store URL {redact(url)!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _alembic(self, connection) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = connection
        return cfg

    def head(self) -> str:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return ScriptDirectory.from_config(cfg).get_current_head()

    def revision(self) -> str | None:
        with self._connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> tuple[str | None, str]:
        """Apply every pending migration; returns (revision before, revision after)."""
        before = self.revision()
        with self._connect() as conn, conn.begin():
            if self.dialect == "postgresql":
                # Two schedulers starting on a new store: the second waits, then finds it at head.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('daypulse.migrations'))")
            command.upgrade(self._alembic(conn), "head")
        return before, self.head()

    def ready(self, create: bool = True) -> Store:
        """A store that is at the current schema: a new empty store is set up on the spot
        (unless ``create`` is False: reading commands must not leave an empty store behind a
        mistyped path); one with an older schema must be upgraded (`daypulse db upgrade`)."""
        if not create and self.dialect == "sqlite":
            path = self.engine.url.database
            if path and path != ":memory:" and not Path(path).exists():
                raise StoreError(f"no daypulse store at {path}: run `daypulse compute` (or"
                                 " `daypulse db upgrade`) first, or check store: in the project")
        current = self.revision()
        if current == self.head():
            return self
        if current is None and not self._has_tables():
            if not create:
                raise StoreError(f"the store {redact(self.url)} is empty: run `daypulse"
                                 " compute` (or `daypulse db upgrade`) first")
            self.upgrade()
            return self
        raise StoreError(f"the store {redact(self.url)} is at schema {current or 'unknown'},"
                         f" daypulse needs {self.head()}: run `daypulse db upgrade`")

    def exists(self) -> bool:
        """Whether daypulse's tables are there; nothing is created to find out (a SQLite file
        that is not there is not opened)."""
        if self.dialect == "sqlite":
            path = self.engine.url.database
            if path and path != ":memory:" and not Path(path).exists():
                return False
        return self.revision() is not None or self._has_tables()

    def _has_tables(self) -> bool:
        with self._connect() as conn:
            return bool(set(inspect(conn).get_table_names()) & {"metric_values", "runs"})

    def _connect(self):
        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store {redact(self.url)}:"
                             f" {str(exc).splitlines()[0]}") from exc


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers (the dashboard) work while a compute writes; the busy timeout makes a
    # second writer wait instead of failing at once.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_store(url: str, create: bool = True) -> Store:
    return Store(url).ready(create)


@contextmanager
def write_transaction(store: Store) -> Iterator[Connection]:
    """One short write transaction. SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock
    up front (waiting up to the busy timeout), so a read-then-write cannot race another writer."""
    if store.dialect != "sqlite":
        with store.engine.begin() as conn:
            yield conn
        return
    with store.engine.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite then issues no BEGIN of its own
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def aware(t: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive (they were written in UTC); PostgreSQL in its zone."""
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
