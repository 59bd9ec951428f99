"""Checkpoint contents that load with ``torch.load(weights_only=True)``.

A checkpoint holds only tensors and plain values (``None``, booleans, numbers, strings,
lists, tuples and dicts of them), so loading one never runs code named in the file.
State that models keep as numpy arrays or scipy sparse matrices (an item similarity, the
training rows) is converted to tensors on save by :func:`encode` and back on load by
:func:`decode`; anything else is refused when saving, with the key that holds it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from warprec.errors import WarpRecError

__all__ = ["decode", "encode"]

_TAG = "__warprec_state__"  # marks an encoded array or sparse matrix
_PLAIN = (type(None), bool, int, float, str, torch.dtype, torch.device, torch.Size)


def encode(value: Any, where: str) -> Any:
    """``value`` with numpy arrays, numpy scalars and scipy sparse matrices made tensors;
    a :class:`WarpRecError` naming ``where`` (the key path) for anything else."""
    if isinstance(value, (torch.Tensor, *_PLAIN)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc":
            native = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("="))
            return {_TAG: "ndarray", "data": torch.from_numpy(native.copy()),
                    "dtype": value.dtype.str}
        return {_TAG: "ndarray_list", "data": encode(value.tolist(), where),
                "dtype": value.dtype.str if value.dtype.kind in "SU" else "O"}
    if sp.issparse(value):
        csr = sp.csr_matrix(value)
        return {_TAG: "sparse", "format": value.format, "shape": tuple(int(n) for n in csr.shape),
                "data": encode(csr.data, where), "indices": torch.from_numpy(csr.indices.copy()),
                "indptr": torch.from_numpy(csr.indptr.copy())}
    if isinstance(value, dict):
        encoded = type(value)() if type(value) in (dict, OrderedDict) else {}
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool | type(None)):
                raise WarpRecError(f"cannot save {where}: a key of type {type(key).__name__}; "
                                   "expected str or number keys")
            encoded[key] = encode(item, f"{where}.{key}")
        metadata = getattr(value, "_metadata", None)  # torch's per-module state versions
        if metadata is not None:
            encoded._metadata = metadata  # type: ignore[attr-defined]
        return encoded
    if isinstance(value, list | tuple):
        items = [encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise WarpRecError(f"cannot save {where}: a {type(value).__module__}."
                       f"{type(value).__qualname__}; a checkpoint holds tensors, numpy "
                       "arrays, scipy sparse matrices and plain values only")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, dict):
        tag = value.get(_TAG)
        if tag == "ndarray":
            return value["data"].cpu().numpy().astype(np.dtype(value["dtype"]), copy=False)
        if tag == "ndarray_list":
            return np.array(decode(value["data"]), dtype=np.dtype(value["dtype"]))
        if tag == "sparse":
            matrix = sp.csr_matrix((decode(value["data"]), value["indices"].cpu().numpy(),
                                    value["indptr"].cpu().numpy()), shape=tuple(value["shape"]))
            return matrix.asformat(value["format"])
        decoded = type(value)() if type(value) in (dict, OrderedDict) else {}
        for key, item in value.items():
            decoded[key] = decode(item)
        metadata = getattr(value, "_metadata", None)
        if metadata is not None:
            decoded._metadata = metadata  # type: ignore[attr-defined]
        return decoded
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, tuple):
        return tuple(decode(item) for item in value)
    return value
