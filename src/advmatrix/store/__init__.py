"""Where runs, events and alerts are kept: SQLite in one file by default, any SQLAlchemy URL
otherwise (``postgresql+psycopg://...``): the same code on both.

The typed records (:class:`Alert`, :class:`Event`) load without SQLAlchemy, so detectors can
raise them cheaply; the stores import it when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._records import SEVERITIES, Alert, Event, Severity

if TYPE_CHECKING:
    from ._events import EventStore, EventWriter
    from ._runs import RunStore

_LAZY = {"RunStore": "._runs", "EventStore": "._events", "EventWriter": "._events"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SEVERITIES", "Alert", "Event", "EventStore", "EventWriter", "RunStore", "Severity"]
