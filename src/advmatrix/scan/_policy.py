"""Which globals a pickle may name: an allow-list, a deny-list, and a severity for the rest.

A global is judged by the object it reaches, not the prefix it starts with. Protocol 4+ resolves
a dotted name by importing the module and following attributes, so
``STACK_GLOBAL('sklearn.base', 'np.f2py.subprocess.Popen')`` is ``subprocess.Popen`` however
trusted ``sklearn.`` looks. Nothing is imported to find out: every tail of the attribute path is
judged as if it were the global itself, and a path that passes through a module attribute is
never given the trust a package's own classes get. Allowed globals must match exactly; denied
ones match by prefix; anything else is reported, never passed silently.
"""

from __future__ import annotations

import re

from ._findings import Severity

# Exact dotted paths known to be safe to reconstruct: containers and the rebuild helpers of
# NumPy, PyTorch, scikit-learn and joblib.
_SAFE_EXACT = {
    *(f"{b}.{n}" for b in ("builtins", "__builtin__") for n in (
        "set", "frozenset", "dict", "list", "tuple", "bytearray", "bytes", "complex", "int",
        "float", "bool", "str", "slice", "range", "object", "type(None)", "NoneType")),
    "collections.OrderedDict", "collections.defaultdict", "collections.deque", "collections.Counter",
    "_collections.OrderedDict", "_collections.defaultdict", "_collections.deque",
    "copyreg._reconstructor", "copy_reg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
    "_codecs.encode", "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta",
    "datetime.timezone", "decimal.Decimal", "fractions.Fraction", "uuid.UUID", "pathlib.PosixPath",
    "pathlib.WindowsPath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "re._compile",
    "enum.Enum",
    # NumPy
    *(f"numpy.{c}multiarray.{n}" for c in ("core.", "_core.") for n in ("_reconstruct", "scalar")),
    "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer", "numpy.ndarray",
    "numpy.dtype", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor", "numpy.random._mt19937.MT19937",
    "numpy.random._pcg64.PCG64", "numpy.random.mtrand.RandomState",
    "numpy.random._generator.Generator",
    # PyTorch
    *(f"torch._utils.{n}" for n in (
        "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
        "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
        "_rebuild_nested_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
        "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor")),
    "torch._tensor._rebuild_from_type_v2", "torch._tensor._rebuild_from_type", "torch.Size",
    "torch.device", "torch.Tensor", "torch.nn.parameter.Parameter", "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage", "torch.storage._load_from_bytes", "torch.serialization._get_layout",
    "torch.per_tensor_affine", "torch.per_channel_affine", "torch.strided", "torch.sparse_coo",
    "torch.sparse_csr", "torch.contiguous_format", "torch.channels_last",
    # TorchScript's pickles wrap lists and tensors in these identity helpers (torch/jit/_pickle.py)
    *(f"torch.jit._pickle.{n}" for n in (
        "build_intlist", "build_tensorlist", "build_doublelist", "build_boollist",
        "build_tensor_from_id", "restore_type_tag")),
    *(f"torch.{d}" for d in (
        "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
        "bool", "complex64", "complex128", "qint8", "quint8", "qint32", "float", "double", "half",
        "long", "int", "short", "cfloat", "cdouble", "float8_e4m3fn", "float8_e5m2")),
    *(f"torch.{s}Storage" for s in (
        "Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
        "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4", "Untyped")),
    # joblib and SciPy containers scikit-learn models carry
    "joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    *(f"scipy.sparse._{m}.{m}_matrix" for m in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")),
    *(f"scipy.sparse.{m}.{m}_matrix" for m in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")),
    *(f"scipy.sparse._{m}.{m}_array" for m in ("csr", "csc", "coo")),
}

# Classes (CamelCase leaf names) in these packages are plain estimators, layers and containers
# whose construction and __setstate__ run no user-chosen code.
_SAFE_CLASS_PACKAGES = ("sklearn.", "torch.nn.modules.", "torch.nn.utils.parametrize.")

# Reaching any of these means processes, files, network, code execution or import machinery.
_DANGEROUS_PREFIXES = tuple(p + "." for p in (
    "os", "posix", "nt", "subprocess", "_posixsubprocess", "_winapi", "pty", "sys", "shutil",
    "socket", "_socket", "ssl", "select", "selectors", "asyncio", "multiprocessing", "threading",
    "_thread", "signal", "ctypes", "_ctypes", "cffi", "mmap", "importlib", "imp", "pkgutil",
    "zipimport", "runpy", "code", "codeop", "compileall", "py_compile", "marshal", "pickle",
    "_pickle", "cPickle", "dill", "cloudpickle", "shelve", "dbm", "types", "inspect", "gc",
    "webbrowser", "http", "urllib", "urllib2", "urllib3", "requests", "httpx", "aiohttp", "ftplib",
    "smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc", "socketserver", "platform", "pydoc",
    "tempfile", "glob", "io", "_io", "fileinput", "zipfile", "tarfile", "gzip", "bz2", "lzma",
    "linecache", "timeit", "trace", "profile", "cProfile", "pdb", "bdb", "doctest", "unittest",
    "distutils", "setuptools", "pip", "venv", "ensurepip", "site", "sysconfig", "logging.config",
    "operator", "_operator", "functools", "builtins.eval", "builtins.exec", "builtins.compile",
    "builtins.open", "builtins.__import__", "builtins.getattr", "builtins.setattr",
    "builtins.delattr", "builtins.globals", "builtins.locals", "builtins.vars", "builtins.input",
    "builtins.breakpoint", "builtins.help", "builtins.exit", "builtins.quit", "builtins.memoryview",
    "builtins.print", "builtins.dir", "builtins.type", "builtins.super", "builtins.classmethod",
    "builtins.staticmethod", "builtins.property", "builtins.exec", "__builtin__", "__main__",
    "logging.config", "logging.handlers", "logging.FileHandler", "logging.basicConfig",
    "torch.hub", "torch.load", "torch.jit", "torch.package", "torch.utils.cpp_extension",
    "torch.utils.bottleneck", "torch._dynamo", "torch._inductor", "torch.compile",
    "torch.serialization.load", "torch.ops", "torch._ops", "torch.classes", "torch._C._load",
    "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.save",
    "numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.lib.npyio", "numpy.ctypeslib",
    "joblib.load", "joblib.dump", "joblib.numpy_pickle.load", "joblib.parallel", "joblib._parallel_backends",
    "sklearn.utils._show_versions", "sklearn.datasets", "pandas.read_pickle", "pandas.io",
    "keras.models.load_model", "tensorflow.io", "tensorflow.keras.models.load_model", "jinja2",
    "yaml", "ruamel", "sqlite3", "ast", "builtins.object.__subclasses__", "copy", "abc",
))
# Modules denied as a whole: met part-way along an attribute path (``x.os.system``), they mean
# the path has left the package it started in for one of them, whatever attribute follows.
_DANGEROUS_MODULES = frozenset(p[:-1] for p in _DANGEROUS_PREFIXES if p.count(".") == 1) | {"logging", "builtins"}
_BUILTINS = ("builtins", "__builtin__")
_DUNDER = re.compile(r"^__\w+__$")
_SAFE_DUNDERS = {"__newobj__", "__newobj_ex__", "__randomstate_ctor", "__bit_generator_ctor", "__generator_ctor"}


def _judge_path(full: str, module: str) -> tuple[Severity, str] | None:
    """The deny-list verdict on one dotted path (a global, or a tail of one)."""
    if (full + ".").startswith(_DANGEROUS_PREFIXES) or module in _BUILTINS:
        return Severity.CRITICAL, "can run code, touch files or the network"
    return None


def classify_global(module: str, name: str, *, called: bool) -> tuple[Severity, str] | None:
    """None when the global is safe; otherwise a severity and the reason."""
    full = f"{module}.{name}"
    if full in _SAFE_EXACT:
        return None
    parts = full.split(".")
    if any(_DUNDER.match(p) and p not in _SAFE_DUNDERS for p in parts[1:]):
        return Severity.CRITICAL, f"global {full} reaches through a dunder attribute"
    verdict = _judge_path(full, module)
    if verdict is not None:
        return verdict[0], f"global {full} {verdict[1]}"
    attrs = name.split(".")
    # Each attribute before the last may be a module the named one imported; the loader follows
    # it, so judge every tail that starts at one as the global it resolves to.
    for i in range(len(attrs) - 1):
        tail = ".".join(attrs[i:])
        if tail in _SAFE_EXACT:
            continue
        verdict = _judge_path(tail, attrs[i])
        if verdict is None and attrs[i] in _DANGEROUS_MODULES:
            verdict = Severity.CRITICAL, "belongs to a module that can run code, touch files or the network"
        if verdict is not None:
            return verdict[0], f"global {full} resolves to {tail}, which {verdict[1]}"
    leaf = parts[-1]
    if "." not in name and leaf[:1].isupper() and leaf.isidentifier():
        if full.startswith(_SAFE_CLASS_PACKAGES):
            return None
        if module == "__torch__" or module.startswith("__torch__."):
            # TorchScript classes: compiled from the archive's code/ sources (checked as Python)
            # and only resolvable by TorchScript's own unpickler, not by Python's.
            return None
    if "." in name and not called:
        # A dotted path that leaves its module reaches an object the name does not show.
        return Severity.HIGH, f"global {full} follows attributes out of {module}; its target is unknown"
    if called:
        return Severity.HIGH, f"global {full} is not on the allow-list and is called on load"
    return Severity.MEDIUM, f"global {full} is not on the allow-list"
