"""glibc malloc settings for a serving process (docs/performance.md, "The first import's memory").

glibc's malloc starts by giving blocks of 128 KiB or more their own mapping, and by returning the free
memory at the top of a heap to the system beyond 128 KiB. Each time such a mapped block is freed, it raises
both thresholds to that block's size (up to 32 and 64 MiB). In a server that once freed a large block
(start-up does; a 4 MiB request body does), later bodies and large lists come from the heaps, and what
they free stays there: two 10,000-case imports left the process one body (4-5 MiB) larger for good, and
the first import's peak was 1.3 MiB higher on PostgreSQL. `tune_malloc` fixes both thresholds at
256 KiB: large blocks are mapped and unmapped, and freed heap tops go back to the system. Only glibc is
concerned (other C libraries have no such thresholds to set), and an operator who set glibc's malloc
variables keeps them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "tune_malloc", "is_glibc"]

MMAP_THRESHOLD = 256 * 1024
"""Blocks of this size or more get their own mapping, unmapped when freed."""
TRIM_THRESHOLD = 256 * 1024
"""Free memory past this at the top of a heap goes back to the system."""

_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3
_OPERATOR_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def is_glibc() -> bool:
    """True when this process runs on GNU libc."""
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):  # no confstr (Windows), no such name (macOS), musl
        return False
    return bool(version) and version.startswith("glibc ")


def _operator_chose(environ: Mapping[str, str]) -> bool:
    return any(name in environ for name in _OPERATOR_VARIABLES) or "glibc.malloc." in environ.get("GLIBC_TUNABLES", "")


def tune_malloc(environ: Mapping[str, str] = os.environ) -> bool:
    """Fix glibc's mmap and trim thresholds (see the module docstring); True when they were set. Does
    nothing on another C library, or when the environment already sets glibc's malloc variables."""
    if _operator_chose(environ) or not is_glibc():
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):  # a Python built without ctypes; no mallopt to find
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
