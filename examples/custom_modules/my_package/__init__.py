"""A package of custom models (``custom_modules: [my_package]``): importing it
registers the guide's MyEASE and MyBPR."""

from my_package import bpr, ease

__all__ = ["bpr", "ease"]
