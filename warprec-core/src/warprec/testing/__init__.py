"""Conformance kit for model authors (see docs/writing-plugins.md)."""
