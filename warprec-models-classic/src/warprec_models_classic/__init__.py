"""Closed-form and neighbourhood recommenders for WarpRec."""

__version__ = "0.2.0"
