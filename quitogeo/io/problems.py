"""The problems table: one row per data problem, shared by reading, validation and the run.

Columns (design.md): ``capa, id, problema, accion, correccion, bloqueante``. ``id`` is the lot's
``clave_catastral`` for ``predios``, the layer's own id for other layers when it has one, else the row number
(0-based, the position in the layer as read); ``*`` marks a problem of the whole layer or column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Column order of the problems table.
PROBLEM_COLUMNS: tuple[str, ...] = ("capa", "id", "problema", "accion", "correccion", "bloqueante")


def empty_problems() -> pd.DataFrame:
    """Return an empty problems table with the right columns and dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
    frame["bloqueante"] = frame["bloqueante"].astype(bool)
    return frame


class ProblemLog:
    """Collects problems as they are found, in bulk (one frame per finding, never one append per row)."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(
        self, capa: str, id: str, problema: str, accion: str, correccion: str, *, bloqueante: bool = False
    ) -> None:
        """Record one problem."""
        self.add_many(capa, [id], problema, accion, correccion, bloqueante=bloqueante)

    def add_many(
        self,
        capa: str,
        ids: Sequence[str] | np.ndarray | pd.Series,
        problema: str | Sequence[str] | pd.Series,
        accion: str | Sequence[str] | pd.Series,
        correccion: str | Sequence[str] | pd.Series,
        *,
        bloqueante: bool = False,
    ) -> None:
        """Record one problem per id; text arguments are scalars or aligned sequences."""
        ids_arr = np.asarray(ids, dtype=object)
        if len(ids_arr) == 0:
            return

        def col(value: str | Sequence[str] | pd.Series) -> np.ndarray:
            if isinstance(value, str):
                return np.full(len(ids_arr), value, dtype=object)
            return np.asarray(value, dtype=object)

        self._parts.append(
            pd.DataFrame(
                {
                    "capa": capa,
                    "id": ids_arr.astype(str),
                    "problema": col(problema),
                    "accion": col(accion),
                    "correccion": col(correccion),
                    "bloqueante": bool(bloqueante),
                }
            )
        )

    def extend(self, frame: pd.DataFrame) -> None:
        """Append an existing problems table."""
        if len(frame):
            self._parts.append(frame.loc[:, list(PROBLEM_COLUMNS)])

    def frame(self) -> pd.DataFrame:
        """Return the problems table (a fresh RangeIndex, columns :data:`PROBLEM_COLUMNS`)."""
        if not self._parts:
            return empty_problems()
        out = pd.concat(self._parts, ignore_index=True)
        out["bloqueante"] = out["bloqueante"].astype(bool)
        return out.loc[:, list(PROBLEM_COLUMNS)]


__all__ = ["PROBLEM_COLUMNS", "ProblemLog", "empty_problems"]
