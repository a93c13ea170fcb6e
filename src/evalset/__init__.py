"""evalset: self-hosted managed evaluation datasets for pydantic-evals."""

from evalset._version import __version__

__all__ = ["__version__"]
