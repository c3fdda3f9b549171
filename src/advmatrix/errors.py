"""Every error advmatrix raises on purpose.

Domain errors subclass the builtin a caller would already catch, so code that knows nothing of
advmatrix still handles them sensibly::

    AdvmatrixError
     ├── KnowledgeBaseError (ValueError)      bad or inconsistent matrix data
     │    ├── SchemaError                     an object does not fit the schema (file, ID, field)
     │    └── ReferenceError_                 an object names an ID that does not exist
     ├── UnknownObjectError (LookupError)     no tactic/technique/... has that ID
     ├── FormatError (ValueError)             a file is not in the format it claims to be
     └── UsageError (ValueError)              arguments that do not make sense together

The CLI turns any ``AdvmatrixError`` into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations


class AdvmatrixError(Exception):
    """Base of every error advmatrix raises deliberately."""

    exit_code = 2


class KnowledgeBaseError(AdvmatrixError, ValueError):
    """Matrix data is invalid or inconsistent."""


class SchemaError(KnowledgeBaseError):
    """An object does not fit the schema; the message names file, object ID and field."""

    def __init__(self, message: str, *, source: str = "", object_id: str = "", field: str = ""):
        self.source = source
        self.object_id = object_id
        self.field = field
        where = ": ".join(p for p in (source, object_id, f"field '{field}'" if field else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


class ReferenceError_(KnowledgeBaseError):  # noqa: N801 - the builtin name is taken
    """An object refers to an ID that does not exist, or to one of the wrong kind."""


class UnknownObjectError(AdvmatrixError, LookupError):
    """No object with the requested ID exists."""

    exit_code = 3

    def __init__(self, object_id: str, hint: str = ""):
        self.object_id = object_id
        message = f"no object with ID '{object_id}' in the knowledge base"
        super().__init__(f"{message}; {hint}" if hint else message)

    def __str__(self) -> str:  # LookupError would otherwise wrap the message in quotes
        return self.args[0]


class FormatError(AdvmatrixError, ValueError):
    """A file is not valid in the format it was read as."""


class UsageError(AdvmatrixError, ValueError):
    """Arguments that are invalid or do not make sense together."""
