"""The public surface: what ``advmatrix.kb`` exports exists, and the error tree is as drawn."""

from __future__ import annotations

import advmatrix.kb as kb
from advmatrix import errors


def test_kb_all_names_exist_and_are_unique():
    assert len(set(kb.__all__)) == len(kb.__all__)
    assert all(hasattr(kb, name) for name in kb.__all__)
    assert sorted(kb.__all__) == kb.__all__


def test_errors_subclass_the_builtins_callers_catch():
    assert issubclass(errors.SchemaError, ValueError)
    assert issubclass(errors.SchemaError, errors.KnowledgeBaseError)
    assert issubclass(errors.UnknownObjectError, LookupError)
    assert issubclass(errors.FormatError, ValueError)
    for name in ("KnowledgeBaseError", "SchemaError", "UnknownObjectError", "FormatError", "UsageError"):
        assert issubclass(getattr(errors, name), errors.AdvmatrixError)
        assert name in errors.__doc__
