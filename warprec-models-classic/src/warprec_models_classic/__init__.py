"""Closed-form and neighbourhood recommenders for WarpRec."""

__version__ = "0.1.0"
