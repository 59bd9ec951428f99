"""Small shared utilities (registries)."""
