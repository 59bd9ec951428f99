"""Neural (torch) recommenders for WarpRec."""

__version__ = "0.3.0"
