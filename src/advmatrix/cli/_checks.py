"""Checks commands make on their arguments before doing any work: a database that must already
exist, an address that must be free to bind, an upstream URL with a scheme. Each failure is one
:class:`UsageError` naming the option."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import UsageError


def existing_db(location: str, option: str = "--db", hint: str = "") -> str:
    """``location`` when it is an existing database: a SQLite file (or ``sqlite:///`` URL) that is there
    and not empty, or a server URL that answers; a reader must never create an empty database where a
    typo points, nor start and then fail every request on a URL it cannot open."""
    if "://" in location:
        return _existing_url(location, option, hint)
    from ..store._engine import sqlite_problem

    problem = sqlite_problem(location)
    if problem:
        raise UsageError(f"{option} {problem}")
    path = Path(location).expanduser()
    if path.is_file():
        if path.stat().st_size == 0:  # opened, it would be given an empty store's tables
            raise UsageError(f"{option} {location}: an empty file, not a database" + (f" ({hint})" if hint else ""))
        return location
    what = "a directory, not a database file" if path.is_dir() else "no such database file"
    raise UsageError(f"{option} {location}: {what}" + (f" ({hint})" if hint else ""))


def _existing_url(location: str, option: str, hint: str) -> str:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    try:
        url = make_url(location)
    except ArgumentError:
        raise UsageError(f"{option} {location}: not a database URL (sqlite:///file.db, "
                         "postgresql+psycopg://user@host/db)") from None
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise UsageError(f"{option} {shown}: names no database file")
        existing_db(url.database, option, hint)  # the file behind it, checked as a path is
        return location
    try:
        engine = create_engine(url)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except NoSuchModuleError:
        raise UsageError(f"{option} {shown}: '{url.drivername}' is no database driver advmatrix can use") from None
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["cannot connect"])[0][:200]
        raise UsageError(f"{option} {shown}: cannot open it ({reason})") from None
    return location


def bound_socket(host: str, port: int, option: str) -> socket.socket:
    """A socket bound to ``host:port`` (``port`` 0: a free one) for the server to listen on, or one
    :class:`UsageError` naming ``option``. Binding before the server starts lets the banner name the
    port actually bound, and refuses a busy address before anything is printed: uvicorn would log its
    own error and exit 3, the code for an unknown ID."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"{option}: cannot resolve host '{host}' ({exc.strerror})") from None
    except UnicodeError:  # an empty or 64-character label: the IDNA codec refuses it before any lookup
        raise UsageError(f"{option}: '{host}' is not a valid host name") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    # the same option uvicorn binds with, so a port in TIME_WAIT is not reported as busy
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"{option}: {host}:{port} is already in use (another server is listening "
                             "there); choose another port") from None
        raise UsageError(f"{option}: cannot bind {host}:{port} ({exc.strerror or exc})") from None
    return sock


def free_address(host: str, port: int, option: str) -> None:
    """Refuse an address another process is listening on (see :func:`bound_socket`), binding nothing."""
    bound_socket(host, port, option).close()


def socket_url(sock: socket.socket, path: str = "/") -> str:
    """``http://host:port`` + ``path`` of a bound socket, with the port it really has (IPv6 in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{path}"


def serve_on(sock: socket.socket, app: object, **options: object) -> None:
    """Run ``app`` with uvicorn on the bound ``sock`` until interrupted (``options`` go to uvicorn's Config)."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])


def http_url(url: str, option: str) -> str:
    """``url`` when it starts with http:// or https://; without a scheme every forwarded
    request would fail with a 502."""
    if url.startswith(("http://", "https://")) and url.split("://", 1)[1]:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:  # a malformed port or IPv6 literal: left for the first request to report
            host = ""
        if host.endswith(".invalid"):
            # RFC 2606: .invalid never resolves; a written-out placeholder would only show up as 502s
            raise UsageError(f"{option} '{url}' is a placeholder (a .invalid host never resolves): set it to your "
                             "model server, or pass --upstream")
        return url
    raise UsageError(f"{option} '{url}': expected an http:// or https:// URL, e.g. http://{url.split('://')[-1]}")


__all__ = ["bound_socket", "existing_db", "free_address", "http_url", "serve_on", "socket_url"]
