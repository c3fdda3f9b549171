"""Where runs are kept: SQLite in one file by default, any SQLAlchemy URL otherwise
(``postgresql+psycopg://...``): the same code on both."""

from ._runs import RunStore

__all__ = ["RunStore"]
