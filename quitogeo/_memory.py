"""Hand freed heap memory back to the operating system between the stages of a large run.

A stage allocates and frees hundreds of MB of numpy temporaries, GEOS geometries and Python objects, often
from the thread pool's threads, each of which glibc serves from its own malloc arena. Freed blocks stay in
those arenas (fragmented, below the top of the heap) and keep counting in the process's resident memory: at
1 M lots the RSS after a stage was 200–600 MB above the live data. ``malloc_trim(0)`` returns the free pages
of every arena; the next stage gets fresh pages from the kernel as it needs them. Elsewhere than glibc (musl,
macOS, Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_looked = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked
    if not _looked:
        _looked = True
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name) if name else None
            _trim = getattr(libc, "malloc_trim", None) if libc is not None else None
        except OSError:  # pragma: no cover - no C library to load (unusual platforms)
            _trim = None
    return _trim


def release_free_memory() -> bool:
    """Return freed heap pages to the operating system (glibc's ``malloc_trim``); False where unavailable."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


__all__ = ["release_free_memory"]
