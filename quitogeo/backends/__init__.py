"""Execution backends of :func:`quitogeo.pipeline.run`.

``local`` runs the stages in this process (:func:`quitogeo.pipeline.process_lots`); ``dask``
(:mod:`quitogeo.backends.dask`) runs the same stage functions per Hilbert-sorted spatial partition of the
lots on a
``dask.distributed`` cluster (a local one by default, or the scheduler the user names). The dask backend is
imported lazily: it needs the ``dask`` extra.
"""

from __future__ import annotations

#: Names accepted by ``run(..., backend=...)`` and ``quitogeo run --backend``.
BACKENDS: tuple[str, ...] = ("local", "dask")

__all__ = ["BACKENDS"]
