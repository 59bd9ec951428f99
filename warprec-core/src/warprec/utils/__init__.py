"""Small shared utilities: registries, devices, parameter checks, atomic files."""
