"""Every error advmatrix raises on purpose.

Domain errors subclass the builtin a caller would already catch, so code that knows nothing of
advmatrix still handles them sensibly::

    AdvmatrixError
     ├── KnowledgeBaseError (ValueError)      bad or inconsistent matrix data
     │    ├── SchemaError                     an object does not fit the schema (file, ID, field)
     │    └── ReferenceError_                 an object names an ID that does not exist
     ├── UnknownObjectError (LookupError)     no tactic/technique/... has that ID
     ├── FormatError (ValueError)             a file is not in the format it claims to be
 │    └── ProtocolError                   a request or reply body that breaks its wire protocol
     ├── UsageError (ValueError)              arguments that do not make sense together
     └── TargetError (RuntimeError)           a model or model API cannot answer as needed
          ├── TargetInputError (ValueError)   inputs of the wrong shape, type or range
          ├── TargetResponseError             a reply that is not JSON, has the wrong shape, NaNs
          ├── TargetUnavailable (ConnectionError)  unreachable, timing out, erroring server
          ├── CapabilityError                 the target lacks what a procedure needs (gradients,
          │                                   probabilities)
          └── BudgetExhausted                 the query budget is spent

The CLI turns any ``AdvmatrixError`` into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations


def quoted(value: object) -> str:
    """``value`` in single quotes for a message, or as its escaped form when it holds a line break or
    another character that is not printed as itself: a value from the user's file must not split the one
    line of an error (``'a\\nadvmatrix: error: forged'`` would print as a second, forged error)."""
    text = str(value)
    return f"'{text}'" if text.isprintable() else ascii(text)


def first_problem(exc: Exception) -> tuple[str, str]:
    """The first problem of a pydantic ``ValidationError`` as (dotted field path, message): every
    place that validates input reports it as one line built from these two."""
    err = exc.errors()[0]  # type: ignore[attr-defined]
    # pydantic prefixes a validator's own message with "Value error, ": ours are written to stand alone
    return ".".join(str(p) for p in err["loc"]), err["msg"].removeprefix("Value error, ")


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

    def __init__(self, object_id: str, hint: str = "", where: str = "the knowledge base"):
        self.object_id = object_id
        message = f"no object with ID '{object_id}' in {where}"
        super().__init__(f"{message}; {hint}" if hint else message)

    def __str__(self) -> str:  # LookupError would otherwise wrap the message in quotes
        return self.args[0]


class FormatError(AdvmatrixError, ValueError):
    """A file is not valid in the format it was read as."""


class ProtocolError(FormatError):
    """A request or reply body does not follow its wire protocol; the message says what is wrong."""


class UsageError(AdvmatrixError, ValueError):
    """Arguments that are invalid or do not make sense together."""


class TargetError(AdvmatrixError, RuntimeError):
    """A target (local model or model API) cannot answer as needed; the message names it."""


class TargetInputError(TargetError, ValueError):
    """Inputs do not fit the target: shape, dtype, non-finite values."""


class TargetResponseError(TargetError):
    """The target answered with something unusable: not JSON, wrong shape, NaN."""


class TargetUnavailable(TargetError, ConnectionError):
    """The target cannot be reached, times out, or keeps failing."""


class CapabilityError(TargetError):
    """The target lacks a capability a procedure requires, e.g. gradients or probabilities."""


class BudgetExhausted(TargetError):
    """The query budget is spent; procedures stop and keep what they measured."""

    exit_code = 4
