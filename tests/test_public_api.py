"""The public surface of every package: ``__all__`` lists names that exist, once each, every
public class and function has a docstring, the doctests in package docstrings pass, and the
error tree is as drawn."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import advmatrix
from advmatrix import errors

PACKAGES = sorted(["advmatrix", *(m.name for m in pkgutil.walk_packages(advmatrix.__path__, "advmatrix.")
                                  if m.ispkg)])
# top-level modules that are public API of their own
MODULES = ["advmatrix.errors", "advmatrix.plugins"]


@pytest.mark.parametrize("name", PACKAGES + MODULES)
def test_all_lists_names_that_exist_once_each(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if name in ("advmatrix", "advmatrix.cli", "advmatrix.errors"):
        return  # the root holds the version, the CLI its entry point, errors every class it defines
    assert exported is not None, f"{name} has no __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ lists a name twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"


@pytest.mark.parametrize("name", PACKAGES + MODULES)
def test_every_public_name_has_a_docstring(name):
    module = importlib.import_module(name)
    assert (module.__doc__ or "").strip(), f"{name} has no docstring"
    undocumented = []
    for attr in getattr(module, "__all__", ()):
        obj = getattr(module, attr)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not (inspect.getdoc(obj) or "").strip() or (inspect.isclass(obj) and obj.__doc__ is None):
                undocumented.append(attr)
    assert not undocumented, f"{name}: no docstring on {undocumented}"


@pytest.mark.parametrize("name", PACKAGES + MODULES)
def test_package_doctests_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_errors_subclass_the_builtins_callers_catch():
    assert issubclass(errors.SchemaError, ValueError)
    assert issubclass(errors.SchemaError, errors.KnowledgeBaseError)
    assert issubclass(errors.UnknownObjectError, LookupError)
    assert issubclass(errors.FormatError, ValueError)
    for name in ("KnowledgeBaseError", "SchemaError", "UnknownObjectError", "FormatError", "UsageError"):
        assert issubclass(getattr(errors, name), errors.AdvmatrixError)
        assert name in errors.__doc__
