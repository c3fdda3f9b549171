"""A minimal PNG encoder for evidence images, so reports need no imaging library."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def to_png(image: np.ndarray, lo: float = 0.0, hi: float = 1.0, scale: int = 1) -> bytes:
    """Grey-scale (H, W) or colour (H, W, 3) image with values in [lo, hi] as PNG bytes."""
    a = np.asarray(image, dtype=np.float64)
    a = np.clip((a - lo) / max(hi - lo, 1e-12), 0, 1)
    a = (a * 255).round().astype(np.uint8)
    if scale > 1:
        a = a.repeat(scale, axis=0).repeat(scale, axis=1)
    colour = a.ndim == 3
    h, w = a.shape[:2]
    rows = b"".join(b"\x00" + a[r].tobytes() for r in range(h))
    header = struct.pack(">IIBBBBB", w, h, 8, 2 if colour else 0, 0, 0, 0)
    body = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def data_uri(image: np.ndarray, lo: float = 0.0, hi: float = 1.0, scale: int = 1) -> str:
    return "data:image/png;base64," + base64.b64encode(to_png(image, lo, hi, scale)).decode()


def as_image(values: list, shape: tuple[int, ...]) -> np.ndarray | None:
    """An evidence vector as a displayable image, when the input shape is image-like."""
    a = np.asarray(values, dtype=np.float64)
    dims = [d for d in shape if d > 1] if a.size == int(np.prod(shape)) else []
    if len(dims) == 2:
        return a.reshape(dims)
    if len(dims) == 3 and 3 in (shape[0], shape[-1]):
        a = a.reshape(shape)
        return a.transpose(1, 2, 0) if shape[0] == 3 else a
    return None
