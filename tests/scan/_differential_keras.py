"""Differential testing of the Keras formats against the real loader.

Hypothesis draws ``.keras`` v3 archives (a zip of ``config.json`` and ``metadata.json``) and
legacy ``.h5`` files (the model config as the ``model_config`` attribute) whose only effect, if
Keras runs what they carry, is to create a marker directory. ``keras.saving.load_model`` opens
each in a subprocess (KERAS_BACKEND=torch), with ``safe_mode`` off and, separately, on; a marker
that appeared proves the loader reached the payload, and then the scanner must report HIGH or
above.

The grammar covers where code hides in a config (a Lambda layer's marshalled function, its
``output_shape``, a ``__lambda__`` dict used as an activation, custom objects whose ``module``
names an importable callable), how deep (Sequential, Functional, models nested in models, layer
wrappers), how the JSON is spelled (escapes, BOMs, UTF-16/32, duplicate keys: all equal after
decoding, which is what both the loader and the scanner see) and how the archive is framed
(bytes before the zip, member order, duplicate members, compression methods, comments).
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import os
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from advmatrix.scan import Severity, scan_bytes

# -- payload ------------------------------------------------------------------------------------


def _code(via: str) -> str:
    """A marshalled lambda, base64 as Keras' ``func_dump`` writes it, that creates the directory
    its default argument (``defaults``) or its closure cell (``closure``) names."""
    if via == "closure":
        def outer(p):
            return lambda x: (__import__("os").makedirs(p, exist_ok=True), x)[1]
        code = outer("").__code__
    else:
        code = (lambda x, p=None: (__import__("os").makedirs(p, exist_ok=True), x)[1]).__code__
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")


def _lambda_fn(marker: str, via: str, form: str) -> dict:
    args = ([marker], None) if via == "defaults" else (None, [marker])
    if form == "value":  # the generic deserializer's spelling: func_load(value)
        return {"class_name": "__lambda__", "config": {"value": [_code(via), *args]}}
    # func_load takes JSON's list for defaults only inside the packed [code, defaults, closure] form
    code = [_code(via), *args] if via == "defaults" else _code(via)
    return {"class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": args[1]}}


_DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def _layer(cls: str, config: dict, module: str | None = "keras.layers") -> dict:
    out = {"class_name": cls, "config": {"trainable": True, "dtype": _DTYPE, **config}}
    if module is not None:
        out = {"module": module, **out, "registered_name": None}
    return out


def _payload_layer(kind: str, marker: str, via: str, module: str | None) -> dict:
    """The layer carrying the payload, named ``p``."""
    if kind == "lambda-layer":
        return _layer("Lambda", {"name": "p", "function": _lambda_fn(marker, via, "code"), "arguments": {}}, module)
    if kind == "lambda-output-shape":
        fn = {"module": "keras.activations", "class_name": "function", "config": "linear", "registered_name": None}
        return _layer("Lambda", {"name": "p", "function": fn, "output_shape": _lambda_fn(marker, via, "code"),
                                 "arguments": {}}, module)
    if kind == "lambda-activation":  # an Activation layer: no weights for the loader to match
        return _layer("Activation", {"name": "p", "activation": _lambda_fn(marker, via, "value")}, module)
    # custom objects: a module and a name that resolve to a callable creating the marker
    target = {"custom-layer": ("os", "makedirs"), "custom-posix": ("posix", "mkdir"),
              "custom-shutil": ("shutil", "os.makedirs"), "custom-keras-path": ("keras.src.utils.file_utils",
                                                                                 "makedirs")}[kind]
    if kind == "custom-layer" or kind == "custom-keras-path":
        return {"module": target[0], "class_name": target[1], "config": {"name": marker, "exist_ok": True},
                "registered_name": f"{target[0]}>{target[1]}"}
    act = {"module": target[0], "class_name": "function", "config": target[1], "registered_name": target[1]}
    return _layer("Activation", {"name": "p", "activation": act}, module)


def _input(name: str, shape: list, module: str | None) -> dict:
    return _layer("InputLayer", {"batch_shape": [None, *shape], "dtype": "float32", "name": name}, module)


def _tensor(layer: str, shape: list) -> dict:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None, *shape], "dtype": "float32", "keras_history": [layer, 0, 0]}}


def _node(layer: dict, inbound: str | None, shape: list) -> dict:
    name = layer["config"]["name"]
    return {**layer, "name": name, "inbound_nodes": [] if inbound is None else [
        {"args": [_tensor(inbound, shape)], "kwargs": {}}]}


def _sequential(name: str, layers: list) -> dict:
    # models always name their module: without it the loader cannot find Sequential at all
    return {**_layer("Sequential", {"name": name, "layers": layers}, "keras"),
            "build_config": {"input_shape": layers[0]["config"]["batch_shape"]}}


def _functional(name: str, inner: dict, shape: list, module: str | None) -> dict:
    layers = [_node(_input("in", shape, module), None, shape), _node(inner, "in", shape)]
    return _layer("Functional", {"name": name, "layers": layers, "input_layers": ["in", 0, 0],
                                 "output_layers": [inner["config"]["name"], 0, 0]},
                  "keras.src.models.functional")


def model_config(kind: str, nest: str, marker: str, via: str, module: str | None, wrap: int = 0,
                 pad: int = 0) -> dict:
    """A whole model config with the payload layer placed as ``nest`` says, inside ``wrap`` more
    Sequentials, beside an ignored key nested ``pad`` lists deep."""
    config = _placed(kind, nest, marker, via, module)
    for i in range(wrap):
        config = _sequential(f"w{i}", [_input(f"wi{i}", [2, 3] if nest == "time-distributed" else [3], module), config])
    if pad:
        deep: object = 0
        for _ in range(pad):
            deep = [deep]
        config = {**config, "padding": deep}
    return config


def _placed(kind: str, nest: str, marker: str, via: str, module: str | None) -> dict:
    shape = [2, 3] if nest == "time-distributed" else [3]
    p = _payload_layer(kind, marker, via, module)
    if nest == "sequential":
        return _sequential("m", [_input("in", shape, module), p])
    if nest == "functional":
        return _functional("m", p, shape, module)
    if nest == "seq-in-functional":
        inner = _sequential("inner", [_input("in2", shape, module), p])
        return _functional("m", inner, shape, module)
    if nest == "functional-in-seq":
        return _sequential("m", [_input("in", shape, module), _functional("inner", p, shape, module)])
    wrapped = _layer("TimeDistributed", {"name": "td", "layer": p}, module)
    return _sequential("m", [_input("in", shape, module), wrapped])


def _escape_all(text: str) -> str:
    """JSON with every letter inside strings written as a \\u escape (same value once decoded)."""
    out, in_str, esc = [], False, False
    for ch in text:
        if in_str and not esc and ch.isalpha():
            out.append(f"\\u{ord(ch):04x}")
            continue
        out.append(ch)
        if esc:
            esc = False
        elif ch == "\\":
            esc = in_str
        elif ch == '"':
            in_str = not in_str
    return "".join(out)


def spell(config: dict, spelling: str) -> bytes:
    """``config`` as JSON bytes in one of the spellings ``json.loads`` decodes to the same dict."""
    if spelling == "indent":
        return json.dumps(config, indent=2).encode()
    if spelling == "escaped":
        return _escape_all(json.dumps(config)).encode()
    if spelling == "dup-key":  # a benign class name first; the decoder keeps the last one
        text = json.dumps(config)
        return ('{"class_name": "Sequential", "config": {"layers": []}, ' + text[1:]).encode()
    if spelling == "leading-ws":
        return b"\n\t  " + json.dumps(config).encode()
    if spelling == "bom":
        return b"\xef\xbb\xbf" + json.dumps(config).encode()
    if spelling in ("utf-16", "utf-16-le", "utf-32", "utf-32-be"):
        return json.dumps(config).encode(spelling)
    return json.dumps(config).encode()


# -- .keras archives ----------------------------------------------------------------------------

_METHODS = {"stored": zipfile.ZIP_STORED, "deflated": zipfile.ZIP_DEFLATED, "bzip2": zipfile.ZIP_BZIP2,
            "lzma": zipfile.ZIP_LZMA}


@dataclass(frozen=True)
class KerasV3:
    """A ``.keras`` archive: the config's content and spelling, and the zip framing."""
    kind: str
    nest: str
    via: str              # defaults | closure (how the marker path reaches the lambda)
    module: bool          # whether layers carry "module" (v3 writers do; the loader may not need it)
    wrap: int             # Sequentials around the model
    pad: int              # depth of an ignored nested list beside the model's config
    spelling: str
    method: str
    order: str            # config-first | metadata-first
    duplicate: str        # none | benign-first | benign-last (a second config.json)
    prefix: str           # none | junk | zip (another, benign zip before this one)
    comment: bool

    def build(self, marker: str) -> bytes:
        config = spell(model_config(self.kind, self.nest, marker, self.via, "keras.layers" if self.module else None,
                              self.wrap, self.pad),
                       self.spelling)
        meta = json.dumps({"keras_version": "3.15.1", "date_saved": "2026-01-01@00:00:00"}).encode()
        members = [("config.json", config), ("metadata.json", meta), ("model.weights.h5", _empty_weights())]
        if self.order == "metadata-first":
            members.reverse()
        benign = json.dumps(_sequential("b", [_input("in", [3], "keras.layers")])).encode()
        if self.duplicate == "benign-first":
            members.insert(0, ("config.json", benign))
        elif self.duplicate == "benign-last":
            members.append(("config.json", benign))
        import warnings

        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are the point
            with zipfile.ZipFile(buf, "w", _METHODS[self.method]) as zf:
                for name, body in members:
                    zf.writestr(name, body)
                if self.comment:
                    zf.comment = b"keras model"
        data = buf.getvalue()
        if self.prefix == "junk":
            return b"\0JUNK" * 9 + data
        if self.prefix == "zip":
            other = io.BytesIO()
            with zipfile.ZipFile(other, "w") as zf:
                zf.writestr("config.json", benign)
            return other.getvalue() + data
        return data


def _empty_weights() -> bytes:
    """A weights file with no variables, as the writer leaves it for weightless layers."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("layers")
        f.create_group("vars")
    return buf.getvalue()


KINDS = ("lambda-layer", "lambda-layer", "lambda-output-shape", "lambda-activation", "custom-layer", "custom-posix",
         "custom-shutil", "custom-keras-path")
NESTS = ("sequential", "functional", "seq-in-functional", "functional-in-seq", "time-distributed")
WRAPS = st.sampled_from([0, 0, 0, 1, 3, 70])
PADS = st.sampled_from([0, 0, 0, 0, 500, 960])
SPELLINGS = ("plain", "plain", "indent", "escaped", "dup-key", "leading-ws", "bom", "utf-16", "utf-16-le", "utf-32",
             "utf-32-be")


def keras_v3() -> st.SearchStrategy[KerasV3]:
    return st.builds(
        KerasV3, kind=st.sampled_from(KINDS), nest=st.sampled_from(NESTS),
        via=st.sampled_from(["defaults", "closure"]), module=st.booleans(), wrap=WRAPS, pad=PADS,
        spelling=st.sampled_from(SPELLINGS),
        method=st.sampled_from(["deflated", "deflated", "stored", "bzip2", "lzma"]),
        order=st.sampled_from(["config-first", "metadata-first"]),
        duplicate=st.sampled_from(["none", "none", "benign-first", "benign-last"]),
        prefix=st.sampled_from(["none", "none", "junk", "zip"]), comment=st.booleans())


# -- legacy .h5 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KerasH5:
    """A legacy ``.h5`` model: the config as the ``model_config`` attribute, stored as h5py does
    for ``str`` (variable length UTF-8) or ``bytes`` (fixed length), optionally padded past
    64 KiB so that HDF5 moves the attributes to dense storage."""
    kind: str
    nest: str
    via: str
    module: bool
    wrap: int
    pad: int
    spelling: str         # plain | indent | escaped | dup-key | leading-ws (the loader decodes UTF-8)
    storage: str          # str | bytes
    big: bool
    group: bool           # an empty model_weights group, as the writer leaves it

    def build(self, marker: str) -> bytes:
        import h5py
        import numpy as np

        config = model_config(self.kind, self.nest, marker, self.via, "keras.layers" if self.module else None,
                              self.wrap, self.pad)
        if self.big:
            config["config"]["padding"] = "x" * 70000
        text = spell(config, self.spelling)
        buf = io.BytesIO()
        # attributes past 64 KiB need the dense attribute storage of the newer file format
        with h5py.File(buf, "w", libver="latest" if len(text) > 60000 else "earliest") as f:
            f.attrs["keras_version"] = "3.15.1"
            f.attrs["backend"] = "torch"
            f.attrs["model_config"] = text.decode() if self.storage == "str" else np.bytes_(text)
            if self.group:
                f.create_group("model_weights")
        return buf.getvalue()


def keras_h5() -> st.SearchStrategy[KerasH5]:
    return st.builds(
        KerasH5, kind=st.sampled_from(KINDS), nest=st.sampled_from(NESTS),
        via=st.sampled_from(["defaults", "closure"]), module=st.booleans(), wrap=WRAPS, pad=PADS,
        spelling=st.sampled_from(["plain", "plain", "indent", "escaped", "dup-key", "leading-ws"]),
        storage=st.sampled_from(["str", "bytes"]), big=st.booleans(), group=st.booleans())


# -- oracle -------------------------------------------------------------------------------------

# Keras prints progress and warnings on stdout; results go to a file the parent names.
_RUNNER = textwrap.dedent("""
    import json, os, sys
    jobs, safe, out = json.load(sys.stdin), sys.argv[1] == "1", sys.argv[2]
    import keras
    for job in jobs:
        error = ""
        try:
            keras.saving.load_model(job["path"], safe_mode=safe)
        except BaseException as exc:
            error = type(exc).__name__ + ": " + str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        with open(out, "a") as fh:
            fh.write(json.dumps([os.path.exists(job["marker"]), error]) + "\\n")
""")


def keras_available() -> str | None:
    """None when Keras imports on the torch backend in a subprocess; otherwise why not."""
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run([sys.executable, "-c", "import keras"], capture_output=True, text=True, env=env,
                          timeout=120)
    return None if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["import keras failed"])[-1]


def load_all(jobs: list[dict], safe: bool, timeout: float) -> list[tuple[bool, str]]:
    """(marker appeared, loader error) per job; a batch that hangs or dies is rerun one job at a
    time so that one bad artifact cannot hide the others."""
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as out:
        try:
            subprocess.run([sys.executable, "-c", _RUNNER, "1" if safe else "0", out.name], input=json.dumps(jobs),
                           capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            pass
        done = [tuple(json.loads(x)) for x in Path(out.name).read_text().splitlines() if x.strip()]
    if len(done) == len(jobs) or len(jobs) == 1:
        return done + [(Path(j["marker"]).exists(), "died") for j in jobs[len(done):]]
    return done + [r for j in jobs[len(done):] for r in load_all([j], safe, timeout)]


@dataclass
class Case:
    """One built artifact and what the loader (safe mode off and on) and the scanner made of it."""
    spec: KerasV3 | KerasH5
    data: bytes
    reached: bool = False
    error: str = ""
    reached_safe: bool = False
    error_safe: str = ""
    worst: Severity | None = None

    @property
    def fmt(self) -> str:
        return "keras-h5" if isinstance(self.spec, KerasH5) else "keras-v3"

    @property
    def missed(self) -> bool:
        return (self.reached or self.reached_safe) and (self.worst is None or self.worst < Severity.HIGH)


def run_cases(spec_list: list, safe_too: bool = True, timeout: float = 180.0) -> list[Case]:
    """Build every spec in its own marker directory, load them all with Keras (safe mode off, then
    on, each in one subprocess, a fresh directory each time) and scan each."""
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="advmatrix-diff-keras-") as tmp:
        jobs = {False: [], True: []}
        for i, spec in enumerate(spec_list):
            for safe in (False, True) if safe_too else (False,):
                d = Path(tmp) / f"c{i}-{int(safe)}"
                d.mkdir()
                marker = str(d / "marker")
                data = spec.build(marker)
                path = d / ("model.h5" if isinstance(spec, KerasH5) else "model.keras")
                path.write_bytes(data)
                if not safe:
                    cases.append(Case(spec, data))
                jobs[safe].append({"path": str(path), "marker": marker})
        for case, (reached, error) in zip(cases, load_all(jobs[False], False, timeout), strict=True):
            case.reached, case.error = reached, error
        if safe_too:
            for case, (reached, error) in zip(cases, load_all(jobs[True], True, timeout), strict=True):
                case.reached_safe, case.error_safe = reached, error
        for case in cases:
            name = "model.h5" if isinstance(case.spec, KerasH5) else "model.keras"
            case.worst = scan_bytes(case.data, name).worst()
    return cases
