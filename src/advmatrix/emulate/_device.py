"""Where white-box work runs: the device-aware core every gradient procedure shares.

A PyTorch target computes on the device its module lives on (CPU, CUDA or Apple MPS). The
procedures move a batch there once, keep every step of the attack on the device, and bring the
result back to NumPy once. Nothing here calls ``.cuda()`` unconditionally: on a machine without
an accelerator every function answers "cpu" and the code paths are the ones CI runs.

- :func:`pick_device` turns a request (``None``, ``"auto"``, ``"cpu"``, ``"cuda:1"``, ``"mps"``)
  and a module into the device to use, from what torch reports as available.
- :func:`use_device` is the ``--device`` override: it moves a target's module there.
- :func:`batch_size` chooses a batch from free device memory when the user gave none.
- :func:`autocast` is optional mixed precision (bf16/fp16) for sign-gradient attacks.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from ..errors import UsageError

# the target adapter owns device naming (targets sit below emulate); procedures reach it here
from ..targets.local import DEVICE_HELP, module_device, pick_device

#: samples per batch on the CPU, where memory is not the limit and bigger batches gain little
CPU_BATCH = 256
Precision = Literal["fp32", "bf16", "fp16"]


def use_device(target: Any, requested: str | None) -> str | None:
    """Move ``target``'s module to the device ``requested`` names (the ``--device`` override);
    returns the device, or None when nothing was requested. A target without a module (a model
    server, an ONNX graph) cannot be moved: asking to is a one-line error."""
    if requested is None:
        return None
    module = getattr(target, "module", None)
    if module is None or not hasattr(module, "to"):
        raise UsageError(f"{target.info.name}: --device applies to PyTorch targets only")
    device = pick_device(module, requested)
    if module_device(module) != device:
        target.module = module.to(device)
    return device


def to_device(x: Any, device: str, dtype: Any = None) -> Any:
    """A NumPy array (or tensor) as a tensor on ``device``, copied once; pinned first when it
    goes to a GPU, so the copy does not stall on pageable memory."""
    import numpy as np
    import torch

    t = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
    if dtype is not None:
        t = t.to(dtype)
    if device.startswith("cuda"):
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def to_numpy(t: Any) -> Any:
    """A tensor back in NumPy (one device-to-host copy)."""
    return t.detach().cpu().numpy()


def fit_batch(free_bytes: int, per_sample_bytes: int, *, headroom: float = 0.5, lo: int = 1,
              hi: int = 4096) -> int:
    """How many samples fit in ``headroom`` of ``free_bytes`` when each costs ``per_sample_bytes``
    (rounded down to a power of two, which GPU kernels like), clamped to [lo, hi]."""
    if per_sample_bytes <= 0:
        return hi
    n = int(free_bytes * headroom // per_sample_bytes)
    if n < lo:
        return lo
    return max(lo, min(hi, 1 << (n.bit_length() - 1)))


def per_sample_bytes(module: Any, sample: Any, device: str, probe: int = 8) -> int:
    """Peak CUDA memory one sample costs through a forward and backward pass, measured on a
    batch of ``probe`` copies of ``sample`` (a NumPy array of one sample's shape)."""
    import numpy as np
    import torch

    x = to_device(np.repeat(sample[None], probe, axis=0), device).requires_grad_(True)
    torch.cuda.synchronize(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    out = module(x)
    (grad,) = torch.autograd.grad(out.float().logsumexp(1).sum(), x)
    del out, grad
    peak = torch.cuda.max_memory_allocated(device)
    return max(1, (peak - base) // probe)


def batch_size(module: Any, sample: Any, device: str, requested: int | None = None) -> int:
    """``requested`` when given; on a CUDA device, what fits in half of the free memory (from
    ``torch.cuda.mem_get_info``) by a measured forward and backward pass; elsewhere
    :data:`CPU_BATCH`."""
    if requested is not None:
        return int(requested)
    if not device.startswith("cuda"):
        return CPU_BATCH
    import torch

    free, _total = torch.cuda.mem_get_info(device)
    return fit_batch(free, per_sample_bytes(module, sample, device))


def autocast(device: str, precision: Precision = "fp32") -> Any:
    """A context running the forward pass in ``precision``; fp32 is a no-op. fp16 is offered on
    CUDA only (CPU and MPS kernels for it are slow or missing); bf16 wherever torch has it."""
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    kind = device.partition(":")[0]
    if precision == "fp16" and kind != "cuda":
        raise UsageError(f"precision fp16 needs a CUDA device; this runs on {device} (use bf16 or fp32)")
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device_type=kind, dtype=dtype)


#: fp16 gradients of a mean loss underflow to zero; a sign attack is blind to a positive
#: scale, so the loss is multiplied by this before differentiating
LOSS_SCALE = {"fp32": 1.0, "bf16": 1.0, "fp16": 1024.0}


__all__ = ["CPU_BATCH", "DEVICE_HELP", "LOSS_SCALE", "Precision", "autocast", "batch_size", "fit_batch",
           "module_device", "per_sample_bytes", "pick_device", "to_device", "to_numpy", "use_device"]
