"""The package version, in a module of its own so every layer can record it (cache keys, data manifests) without
importing the top-level package."""

__version__ = "0.1.0"
