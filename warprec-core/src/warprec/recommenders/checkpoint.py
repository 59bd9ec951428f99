"""Checkpoint files: how they are framed, checked and read, and what they may hold.

A checkpoint file (format 3) is one ASCII header line followed by a payload::

    WARPREC-CHECKPOINT 3 sha256=<64 lowercase hex digits>\n
    <payload: the bytes of a torch.save archive>

The digest is the SHA-256 of the payload bytes. :func:`read_checkpoint` checks it before
anything is unpickled, so a truncated or modified file is refused with one line. The
payload holds only tensors and plain values (``None``, booleans, numbers, strings, lists,
tuples and dicts of them) and is read with ``torch.load(weights_only=True)``, so loading
never runs code named in the file. State that models keep as numpy arrays or scipy sparse
matrices (an item similarity, the training rows) is converted to tensors on save by
:func:`encode` and back on load by :func:`decode`; anything else is refused when saving,
with the key that holds it.

Files of warprec-core 0.2 (format 2: a bare ``torch.save`` archive, no digest, the fitted
state in the ``_extra_state`` entry of the state dict) are still read, with a warning that
their integrity cannot be checked; older formats are refused.
"""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
import re
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy.sparse as sp
import torch

from warprec.errors import DataError, WarpRecError
from warprec.utils.checks import shorten

__all__ = ["CHECKPOINT_FORMAT", "decode", "encode", "read_checkpoint", "write_checkpoint"]

CHECKPOINT_FORMAT = 3
"""3: a header line with the payload's SHA-256, then tensors and plain values read with
``weights_only=True``. 2 (warprec-core 0.2): the same contents without the header.
1: pickled objects."""

logger = logging.getLogger("warprec")

_MAGIC = b"WARPREC-CHECKPOINT "
_HEADER = re.compile(rb"WARPREC-CHECKPOINT (\d{1,6}) sha256=([0-9a-f]{64})\n")
_UNCHECKED_FORMAT = 2  # warprec-core 0.2: read without a digest
_KEYS = {"name": str, "params": dict, "info": dict, "seed": int, "state_dict": dict,
         "fitted": dict}
_TAG = "__warprec_state__"  # marks an encoded array or sparse matrix
_PLAIN = (type(None), bool, int, float, str, torch.dtype, torch.device, torch.Size)


def write_checkpoint(contents: dict[str, Any], path: Path) -> None:
    """Write ``contents`` (encoded by :func:`encode`) as a checkpoint file at ``path``:
    the header line with the payload's digest, then the payload."""
    buffer = io.BytesIO()
    torch.save(encode(contents, str(contents.get("name", "checkpoint"))), buffer)
    payload = buffer.getbuffer()
    digest = hashlib.sha256(payload).hexdigest()
    with open(path, "wb") as handle:
        handle.write(f"WARPREC-CHECKPOINT {CHECKPOINT_FORMAT} sha256={digest}\n".encode())
        handle.write(payload)


def read_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The decoded contents of the checkpoint at ``path``: ``name``, ``params``, ``info``,
    ``seed``, ``state_dict`` and ``fitted``. Anything else (an unreadable, damaged,
    foreign, old-format or incomplete file) is one :class:`DataError` line naming it."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(len(_MAGIC) + 90)
            if first.startswith(_MAGIC):
                contents = _unpickle(io.BytesIO(_verified_payload(path, first, handle)),
                                     path, map_location)
                version = CHECKPOINT_FORMAT
            else:
                handle.seek(0)
                contents = _unpickle(handle, path, map_location)
                version = _UNCHECKED_FORMAT
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    found = contents.get("format_version") if isinstance(contents, dict) else None
    if found != version:
        if found == CHECKPOINT_FORMAT:
            raise DataError(f"{path}: damaged checkpoint: format {found} without its "
                            "header line; expected the file as Recommender.save wrote it")
        raise DataError(f"{path}: unsupported checkpoint format {found!r}; expected "
                        f"{CHECKPOINT_FORMAT} (re-create the checkpoint with this warprec-core)")
    if version == _UNCHECKED_FORMAT:
        logger.warning("Warning: %s: a checkpoint of warprec-core 0.2 (format 2), which "
                       "records no digest: loaded without an integrity check; save the "
                       "model again (Recommender.save, or meta.save_model in a run) to "
                       "write format %d", path,
                       CHECKPOINT_FORMAT)
        contents.setdefault("fitted", {})  # 0.2 kept fitted state in state_dict
    for key, kind in _KEYS.items():
        if not isinstance(contents.get(key), kind):
            raise DataError(f"{path}: the checkpoint's {key!r} is missing or not a "
                            f"{kind.__name__}; expected a file written by Recommender.save")
    return decode(contents)


def _verified_payload(path: Path, header: bytes, handle: IO[bytes]) -> bytes:
    """The payload after ``header``, once its SHA-256 matches the header's."""
    match = _HEADER.fullmatch(header)
    if match is None or int(match.group(1)) < CHECKPOINT_FORMAT:  # no format < 3 has one
        raise DataError(f"{path}: damaged checkpoint: its header line is not "
                        f"'WARPREC-CHECKPOINT {CHECKPOINT_FORMAT} sha256=<digest>'; expected "
                        "the file as Recommender.save wrote it")
    if int(match.group(1)) > CHECKPOINT_FORMAT:
        raise DataError(f"{path}: checkpoint format {match.group(1).decode()}, written by a "
                        f"newer warprec-core; this one reads format {CHECKPOINT_FORMAT} (and "
                        "2, of 0.2): load it with the warprec-core that wrote it")
    payload = handle.read()
    if hashlib.sha256(payload).hexdigest().encode() != match.group(2):
        raise DataError(f"{path}: damaged checkpoint: the SHA-256 of its contents is not "
                        "the one its header records (the file was truncated or changed "
                        "after it was written); expected the file as Recommender.save "
                        "wrote it")
    return payload


def _unpickle(source: IO[bytes], path: Path, map_location: str | torch.device) -> Any:
    """``torch.load(weights_only=True)`` of ``source``; a one-line :class:`DataError`
    for anything it refuses."""
    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        named = re.search(r"GLOBAL (\S+)", str(exc))
        if named is None:  # not a pickle torch understands at all
            raise DataError(f"{path}: not a checkpoint file (unreadable as a torch "
                            "checkpoint); expected a file written by Recommender.save") from None
        raise DataError(
            f"{path}: not a WarpRec checkpoint of format {CHECKPOINT_FORMAT}: it names the "
            f"Python object {shorten(named.group(1), 80)}, which is never loaded (checkpoints "
            "hold tensors and plain values only); expected a file written by Recommender.save "
            "of this warprec-core (re-create checkpoints of older versions)"
        ) from None
    except OSError:
        raise
    except Exception as exc:  # not a torch file at all: zip, pickle or EOF errors
        raise DataError(f"{path}: not a checkpoint file ({type(exc).__name__}: "
                        f"{shorten(str(exc), 120)})") from None



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
