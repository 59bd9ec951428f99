"""Resolve the ``general.device`` setting (``cpu``, ``cuda``, ``cuda:1``, ``auto``) to a
:class:`torch.device`, with one clear error when CUDA is asked for and absent."""

from __future__ import annotations

import torch

from warprec.errors import ConfigError

__all__ = ["resolve_device"]


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Return the torch device for ``spec``.

    ``None`` and ``"auto"`` pick the first CUDA device when one is visible, else the CPU;
    ``"cpu"``, ``"cuda"`` and ``"cuda:N"`` are taken as given after checking that the
    device exists. Raises :class:`ConfigError` otherwise.
    """
    if isinstance(spec, torch.device):
        text = str(spec)
    else:
        text = "auto" if spec is None else str(spec).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError as exc:
        raise ConfigError(
            f"general.device: invalid device {spec!r}; expected 'cpu', 'cuda', 'cuda:N' or 'auto'"
        ) from exc
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ConfigError(
            f"general.device: unsupported device {spec!r}; expected 'cpu', 'cuda', 'cuda:N' "
            "or 'auto'"
        )
    if not torch.cuda.is_available():
        raise ConfigError(
            f"general.device: {spec!r} requested but CUDA is not available "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
            "use 'cpu' or 'auto'"
        )
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise ConfigError(
            f"general.device: {spec!r} requested but only {count} CUDA device(s) are visible "
            f"(cuda:0..cuda:{count - 1})"
        )
    return device
