"""Closed-form and neighbourhood recommenders for WarpRec."""

__version__ = "0.3.0"
