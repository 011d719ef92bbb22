"""Database engine and sessions (SQLAlchemy 2.0, sync)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from server.config import Settings, get_settings
from server.filemodes import prepare_sqlite_file

SQLITE_BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_last: tuple[Settings, Engine, sessionmaker[Session]] | None = None  # the settings last seen


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def make_engine(url: str, busy_timeout_seconds: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> Engine:
    """Create an engine with the settings each backend needs (``busy_timeout_seconds``:
    how long a SQLite writer waits for the write lock; PODIUM_SQLITE_BUSY_TIMEOUT_SECONDS)."""
    if url.startswith("sqlite"):
        prepare_sqlite_file(url)
        # pysqlite's default transaction handling opens a transaction at the first
        # write, not at the first read: a quota check that begins with an UPDATE
        # therefore takes the write lock before it counts (see submissions.service).
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_seconds},
            pool_size=20,
            max_overflow=40,
        )
        _configure_sqlite(engine, round(busy_timeout_seconds * 1000))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)


def get_engine(settings: Settings | None = None) -> Engine:
    """The engine for the configured database (one per URL per process)."""
    return _current(settings)[0]


def get_sessionmaker(settings: Settings | None = None) -> sessionmaker[Session]:
    return _current(settings)[1]


def _current(settings: Settings | None) -> tuple[Engine, sessionmaker[Session]]:
    global _last
    settings = settings or get_settings()
    last = _last
    if last is not None and last[0] is settings:
        return last[1], last[2]  # every request's path: no URL to build (SQLite: a realpath)
    url = settings.sqlalchemy_url
    if url not in _engines:
        _engines[url] = make_engine(url, settings.sqlite_busy_timeout_seconds)
        _sessionmakers[url] = sessionmaker(bind=_engines[url], expire_on_commit=False)
    _last = (settings, _engines[url], _sessionmakers[url])
    return _engines[url], _sessionmakers[url]


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (jobs, CLI)."""
    session = get_sessionmaker(settings)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    global _last
    _last = None
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _sessionmakers.clear()
