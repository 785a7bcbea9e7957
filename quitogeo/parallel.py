"""Both cores for the GEOS-heavy steps: shapely operations and STRtree queries over chunks in threads.

GEOS releases the GIL inside shapely's vectorised functions, so splitting one call over aligned chunks of its
input arrays and running the chunks in a thread pool uses every core without copying geometries between
processes (process pools pickle every geometry and were measured several times slower here). The results are
exactly those of the single call: element-wise functions are computed element by element, and chunked tree
queries are offset back and concatenated in the same order as the one-call query (``STRtree.query``
returns its pairs sorted by input position, then tree position).

Small inputs run in the calling thread: below :data:`MIN_CHUNK` elements per thread the pool costs more
than it
saves.

>>> import numpy as np, shapely
>>> from quitogeo.parallel import elementwise
>>> a = shapely.points(np.arange(5.0), 0.0)
>>> elementwise(shapely.distance, a, shapely.Point(0, 0)).tolist()
[0.0, 1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

#: Fewest elements per thread worth a thread (smaller inputs run in the calling thread).
MIN_CHUNK: int = 20_000

#: Environment variable capping the threads (``QUITOGEO_HILOS=1`` disables the pool).
ENV_THREADS = "QUITOGEO_HILOS"

_pool: ThreadPoolExecutor | None = None
_pool_size = 0


#: Per-thread flag set by :func:`serial` (a worker of a chunked run already has its core).
_local = threading.local()


@contextmanager
def serial() -> Iterator[None]:
    """Run this module's functions in the calling thread only, for the duration of the block.

    A chunked run (:mod:`quitogeo.backends.chunks`) gives each core a whole chunk of lots; inside its workers
    the element-wise splitting here would only add threads competing for the same cores.
    """
    before = getattr(_local, "serial", False)
    _local.serial = True
    try:
        yield
    finally:
        _local.serial = before


#: Threads currently inside :func:`shared_cores` (guarded by ``_sharing_lock``).
_sharing = 0
_sharing_lock = threading.Lock()


@contextmanager
def shared_cores() -> Iterator[None]:
    """Share the cores with the other threads inside this block, for the duration of the block.

    Stages running side by side (:func:`quitogeo.pipeline.process_lots`) each enter it: while two stages run
    on two cores, each computes in its own thread (as in :func:`serial`); when the other has ended and nothing
    is left to start, the one still running splits its next GEOS calls over both cores again, so that no core
    idles at the end of the spatial stages. Each thread gets ``available_threads() // threads inside`` (at
    least 1), read at each call. The results are the same whatever the split (see the module's docstring).
    """
    global _sharing
    before = getattr(_local, "sharing", False)
    with _sharing_lock:
        _sharing += 1
    _local.sharing = True
    try:
        yield
    finally:
        _local.sharing = before
        with _sharing_lock:
            _sharing -= 1


def n_threads() -> int:
    """Threads to use: 1 in :func:`serial`, a share in :func:`shared_cores`, else all available."""
    if getattr(_local, "serial", False):
        return 1
    if getattr(_local, "sharing", False):
        return max(1, available_threads() // max(1, _sharing))
    return available_threads()


def available_threads() -> int:
    """Threads the machine offers this process: ``QUITOGEO_HILOS`` when set (≥ 1), else its cores."""
    env = os.environ.get(ENV_THREADS, "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    if _pool is None or _pool_size != size:
        _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="quitogeo")
        _pool_size = size
    return _pool


def _bounds(n: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, parts + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def chunks_for(n: int, *, min_chunk: int = MIN_CHUNK) -> list[tuple[int, int]]:
    """``(start, stop)`` slices splitting ``n`` elements over the threads (one slice when too few)."""
    parts = min(n_threads(), max(1, n // max(min_chunk, 1)))
    return _bounds(n, parts) if n else []


def map_chunks(func: Callable[[int, int], Any], n: int, *, min_chunk: int = MIN_CHUNK) -> list[Any]:
    """Call ``func(start, stop)`` for each slice of ``range(n)`` in the thread pool (results in order)."""
    slices = chunks_for(n, min_chunk=min_chunk)
    if len(slices) <= 1:
        return [func(0, n)]
    pool = _executor(available_threads())
    return list(pool.map(lambda s: func(*s), slices))


def elementwise(func: Callable[..., Any], *arrays: Any, min_chunk: int = MIN_CHUNK, **kwargs: Any) -> Any:
    """``func(*arrays, **kwargs)`` for an element-wise shapely function, computed over chunks in threads.

    Parameters
    ----------
    func : callable
        A shapely vectorised function (``shapely.intersection``, ``shapely.length``, ``shapely.covers``…).
    *arrays
        Aligned arrays of the same length, or scalars (a single geometry broadcast to every element).
    min_chunk : int, optional
        Fewest elements per thread.
    **kwargs
        Passed to ``func``.

    Returns
    -------
    numpy.ndarray
        Exactly ``func(*arrays, **kwargs)``.
    """
    arrs = [np.asarray(a) if isinstance(a, (list, tuple, np.ndarray)) else a for a in arrays]
    lengths = {len(a) for a in arrs if isinstance(a, np.ndarray) and a.ndim >= 1}
    if len(lengths) != 1:
        return func(*arrays, **kwargs)
    n = lengths.pop()

    def part(start: int, stop: int) -> Any:
        args = [a[start:stop] if isinstance(a, np.ndarray) and a.ndim >= 1 else a for a in arrs]
        return func(*args, **kwargs)

    results = map_chunks(part, n, min_chunk=min_chunk)
    return results[0] if len(results) == 1 else np.concatenate(results)


def query(
    tree: shapely.STRtree, geoms: npt.ArrayLike, *, min_chunk: int = MIN_CHUNK, **kwargs: Any
) -> npt.NDArray[np.intp]:
    """``tree.query(geoms, **kwargs)`` over chunks of ``geoms`` in threads; the same ``(2, k)`` array.

    Parameters
    ----------
    tree : shapely.STRtree
        The index.
    geoms : array-like of geometries
        The query geometries.
    min_chunk : int, optional
        Fewest query geometries per thread.
    **kwargs
        ``predicate``, ``distance`` as for :meth:`shapely.STRtree.query`.

    Returns
    -------
    numpy.ndarray
        Row 0: position in ``geoms``; row 1: position in the tree — in the order of the one-call query.
    """
    arr = np.asarray(geoms, dtype=object)

    def part(start: int, stop: int) -> npt.NDArray[np.intp]:
        res = np.asarray(tree.query(arr[start:stop], **kwargs))
        if start:
            res = res.copy()
            res[0] += start
        return res

    results = map_chunks(part, len(arr), min_chunk=min_chunk)
    return results[0] if len(results) == 1 else np.concatenate(results, axis=1)


def prepared_copies(geoms: npt.ArrayLike) -> list[npt.NDArray[np.object_]]:
    """One prepared copy of ``geoms`` per thread, for :func:`prepared_pairs`.

    A prepared geometry is not thread-safe (GEOS builds its internal indexes lazily, on first use), so each
    thread gets its own copy — and ``geoms`` themselves are left unprepared, as another caller (a dask worker
    thread running another partition) may share them. A WKB round trip copies the coordinates bit for bit,
    so every predicate gives exactly what it gives on the originals.
    """
    wkb = shapely.to_wkb(np.asarray(geoms, dtype=object))
    copies = [np.asarray(shapely.from_wkb(wkb), dtype=object) for _ in range(n_threads())]
    for c in copies:
        shapely.prepare(c)
    return copies


def prepared_pairs(
    func: Callable[..., Any],
    copies: list[npt.NDArray[np.object_]],
    pos: npt.NDArray[np.intp],
    others: npt.NDArray[Any],
    *,
    min_chunk: int = MIN_CHUNK,
) -> npt.NDArray[Any]:
    """``func(copies[0][pos], others)`` for a predicate on prepared geometries, over chunks in threads.

    Parameters
    ----------
    func : callable
        A shapely binary predicate (``shapely.covers``, ``shapely.intersects``…) whose first argument is the
        prepared side.
    copies : list of numpy.ndarray
        From :func:`prepared_copies`: thread ``i`` only ever uses ``copies[i]``.
    pos : numpy.ndarray of int
        Position in the prepared array of each pair's first geometry.
    others : numpy.ndarray
        Each pair's second geometry (aligned with ``pos``).
    min_chunk : int, optional
        Fewest pairs per thread.

    Returns
    -------
    numpy.ndarray
        Exactly ``func(copies[0][pos], others)``.
    """
    slices = chunks_for(len(pos), min_chunk=min_chunk)
    if len(slices) <= 1 or len(copies) < len(slices):
        return np.asarray(func(copies[0][pos], others))

    def part(i: int) -> Any:
        start, stop = slices[i]
        return func(copies[i][pos[start:stop]], others[start:stop])

    pool = _executor(available_threads())
    return np.concatenate(list(pool.map(part, range(len(slices)))))


__all__ = [
    "ENV_THREADS",
    "MIN_CHUNK",
    "available_threads",
    "chunks_for",
    "elementwise",
    "map_chunks",
    "n_threads",
    "prepared_copies",
    "prepared_pairs",
    "query",
    "serial",
    "shared_cores",
]
