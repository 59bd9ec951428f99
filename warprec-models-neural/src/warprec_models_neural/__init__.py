"""Neural (torch) recommenders for WarpRec."""

__version__ = "0.1.0"
