"""One way to open a store's database: a path is a SQLite file, anything with ``://`` is a
SQLAlchemy URL (``postgresql+psycopg://...``)."""

from __future__ import annotations

import json
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Table, create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..errors import UsageError


def url_for(location: str | Path) -> str:
    """The SQLAlchemy URL of a store location."""
    text = str(location)
    return text if "://" in text else f"sqlite:///{Path(text).expanduser()}"


def sqlite_problem(location: str | Path) -> str | None:
    """Why a SQLite path cannot be a store, or None: a file name that is not valid UTF-8 (SQLite and the
    driver take text), or a file that exists, holds something and is not a SQLite database (reading it
    had raised the driver's own error; a store is never written over someone's file)."""
    text = str(location)
    if "://" in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return f"{text!a}: the file name is not valid UTF-8"
    path = Path(text).expanduser()
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return None  # absent (created on first write) or unreadable: said where it is opened
    if head and head != b"SQLite format 3\x00":
        return f"{text}: not a SQLite database"
    return None


def _plain(value: Any) -> Any:
    """JSON for what ``json`` does not know: NumPy scalars and arrays, anything else as text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def open_engine(location: str | Path, *, read_only: bool = False, synchronous: str = "FULL") -> Engine:
    """An engine for ``location``. SQLite files are put in WAL mode (readers never wait on the
    writer) with foreign keys on; ``synchronous="NORMAL"`` trades the last transactions on a
    power cut for cheaper commits (fine for logs, not for results)."""
    text = str(location)
    problem = sqlite_problem(text)
    if problem:
        raise UsageError(f"store {problem}")
    # a path becomes a URL object, not text to parse: '?', '#' and '%' are file name characters
    url: str | URL = text if "://" in text else URL.create("sqlite", database=str(Path(text).expanduser()))
    sqlite = str(url).startswith("sqlite")
    options: dict[str, Any] = {"json_serializer": partial(json.dumps, default=_plain)}
    if sqlite:
        options["connect_args"] = {"timeout": 30}  # a busy file (another process writing) is waited on
    if sqlite and read_only and "://" not in text:
        # SQLite opens a file read-only only through a URI; as_uri() escapes what needs it
        uri = Path(location).expanduser().resolve().as_uri() + "?mode=ro"
        options["creator"] = lambda: sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
    try:
        engine = create_engine(url, **options)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise UsageError(f"cannot open store {shown(location)}: {_first_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            cur = conn.cursor()
            if not read_only:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def shown(location: str | Path) -> str:
    """A store's location as messages show it: a database URL with its password hidden (as ``runs list`` does)."""
    text = str(location)
    if "://" not in text:
        return text
    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return text.split("@", 1)[-1] if "@" in text else text


def _first_line(exc: BaseException) -> str:
    """A driver's message without the hints it adds on further lines (one error, one line)."""
    return (str(exc).strip().splitlines() or [""])[0]


def create_tables(engine: Engine, metadata: MetaData, location: str | Path) -> None:
    """Create the missing tables of ``metadata``, and the nullable columns added since an older
    release made a table (rows already there hold NULL in them); a table that lacks any other
    column is one clear error rather than a failure on the first write."""
    try:
        metadata.create_all(engine)
        for table in metadata.sorted_tables:
            missing = _missing(engine, table)
            required = [c.name for c in missing if not c.nullable or c.primary_key]
            if required:
                raise UsageError(f"store {location}: table '{table.name}' lacks columns "
                                 f"{', '.join(c.name for c in missing)} (written by an older advmatrix?); "
                                 "move the file aside or migrate it")
            for column in missing:
                _add_column(engine, table, column)
    except SQLAlchemyError as exc:
        raise UsageError(f"cannot open store {shown(location)}: {exc.__class__.__name__}: {_first_line(exc)}") from None


def _missing(engine: Engine, table: Table) -> list[Column]:
    have = {c["name"] for c in inspect(engine).get_columns(table.name)}
    return [c for c in table.columns if c.name not in have]


def _add_column(engine: Engine, table: Table, column: Column) -> None:
    quote = engine.dialect.identifier_preparer.quote
    ddl = f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {column.type.compile(engine.dialect)}"
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(ddl)
    except SQLAlchemyError:
        if column.name in {c.name for c in _missing(engine, table)}:
            raise
        # another process opening the same database added it first
