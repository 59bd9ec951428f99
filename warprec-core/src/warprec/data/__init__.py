"""The data layer: readers, filters, splitters, samplers and the in-memory Dataset.

Import the submodules directly (``warprec.data.dataset``, ``warprec.data.reader``, ...);
this package module stays empty so that importing it loads neither pandas nor torch.
"""
