"""With only the base install, every command either works or prints one line naming the
``pip install`` to run. The optional packages are hidden from a real ``advmatrix`` process by
an import hook, the way a fresh ``pip install advmatrix`` would lack them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from advmatrix._extras import EXTRAS, missing_modules, require
from advmatrix.errors import CapabilityError

# every module an extra brings, plus what they pull in that the base install does not have
HIDDEN = sorted({m for mods in EXTRAS.values() for m in mods} | {"joblib", "prometheus_client", "starlette"})

_RUNNER = textwrap.dedent("""
    import importlib.abc, sys
    hidden = set(sys.argv[1].split(","))

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in hidden:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    from advmatrix.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def _base_install(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", _RUNNER, ",".join(HIDDEN), *map(str, args)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def pickled(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("artifacts") / "model.pkl"
    path.write_bytes(b"cos\nsystem\n(S'id'\ntR.")
    return path


@pytest.mark.parametrize("args", [
    ("kb", "stats", "--json"), ("kb", "show", "AML.T0051"), ("plugins", "--json"), ("procedures",),
    ("runs", "list", "--db", "runs.db"), ("kb", "export", "--format", "stix", "--out", "atlas.json"),
], ids=lambda a: " ".join(a[:2]))
def test_base_install_commands_work(tmp_path, args):
    if args[0] == "runs":  # reading needs a store: runs list never creates one where --db points
        from advmatrix.store import RunStore

        RunStore(tmp_path / "runs.db").engine.dispose()
    result = _base_install(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_base_install_scans(tmp_path, pickled):
    result = _base_install(tmp_path, "scan", pickled)
    assert result.returncode == 1 and "CRITICAL" in result.stdout.upper(), result.stderr


def test_base_install_lists_what_is_missing(tmp_path):
    import json

    rows = json.loads(_base_install(tmp_path, "plugins", "--json").stdout)
    prada = next(r for r in rows if r["kind"] == "detector" and r["name"] == "prada")
    assert prada["available"] is False and prada["missing_extras"] == ["detect"]
    volume = next(r for r in rows if r["kind"] == "detector" and r["name"] == "volume")
    assert volume["available"] is True


@pytest.mark.parametrize(("args", "extra"), [
    (("serve",), "serve"),
    (("monitor", "--upstream", "http://127.0.0.1:9"), "serve"),
    (("demo",), "serve"),
    (("assess", "torch:model.pt"), "torch"),
    (("assess", "onnx:model.onnx"), "onnx"),
    (("assess", "sklearn:model.skops"), "sklearn"),
], ids=lambda a: " ".join(a[:1]) if isinstance(a, tuple) else a)
def test_base_install_features_say_what_to_install(tmp_path, args, extra):
    for name in ("model.pt", "model.onnx", "model.skops"):
        (tmp_path / name).write_bytes(b"not really a model")
    result = _base_install(tmp_path, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"pip install 'advmatrix[{extra}" in lines[0], lines[0]


def test_require_names_the_extra_and_the_missing_modules(monkeypatch):
    import advmatrix._extras as extras

    monkeypatch.setitem(extras.EXTRAS, "fake", ("no_such_module_for_advmatrix",))
    assert missing_modules("fake") == ["no_such_module_for_advmatrix"]
    with pytest.raises(CapabilityError, match=r"thing needs the 'fake' extra \(no_such_module_for_advmatrix not "
                                              r"installed\): pip install 'advmatrix\[fake\]'"):
        require("fake", feature="thing")
    require("serve", feature="the gateway")  # installed here: nothing raised
