"""Scenarios: which extra buildability a run prices (Ae, área útil excedente, normativa §2).

A scenario is a table of the rules file's ``[escenarios]`` chosen with ``--escenario``:

- ``pugs_maxima``: Ae = (COS total máximo − COS total básico)/100 × área; when the PIT lacks the COS totals,
  Ae = (pisos máximos − pisos básicos) × COS PB/100 × área (normativa §2). Every lot with the data is priced,
  whatever its eligibility under Res. 13-2016 (the PUGS grants this buildability by itself).
- ``zuae``: Ae = pisos × COS PB/100 × área for lots eligible under Sección II, ``pisos`` capped at
  ``umbrales.pisos_max_zuae`` (Art. 5 b); 0 for lots not eligible.
- ``ecoeficiencia``: Ae = extra floors at the scenario's ``puntaje`` (``pisos_adicionales_max``) × COS PB/100
×
  área for lots eligible under Sección VI; 0 for lots not eligible.

A lot whose Ae cannot be computed gets NaN and a reason in ``ae_problema`` (it becomes its ``estado``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quitogeo.categories import labelled
from quitogeo.rules import Rules


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Column as float64 (NaN where absent or not a number), only read: a float64 column's own values."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    series = frame[name]
    if series.dtype == np.float64:  # no parsing, no copy (fresh memory costs more than the arithmetic)
        return series.to_numpy()
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)


def area_excedente(frame: pd.DataFrame, *, rules: Rules, escenario: dict[str, Any]) -> pd.DataFrame:
    """Ae of each lot under ``escenario``.

    Parameters
    ----------
    frame : DataFrame
        Joined and evaluated lots: ``area_m2``, the PIT's ``cos_pb``, ``pisos_basicos``, ``pisos_maximos``,
        ``cos_total_basico``, ``cos_total_maximo``, and ``elegible_zuae``/``elegible_ecoeficiencia``,
        ``pisos_adicionales_max`` from :func:`quitogeo.eligibility.evaluate`.
    rules : Rules
        ``umbrales.pisos_max_zuae`` and ``tolerancias.ae_decimales`` (the precision Ae is stated and priced
        at).
    escenario : dict
        From :meth:`Rules.scenario` (``tipo`` and its parameters).

    Returns
    -------
    DataFrame
        Aligned to ``frame.index``: ``ae_m2`` (float, NaN when not computable) and ``ae_problema`` (null or
        the reason in Spanish, a categorical as :func:`quitogeo.pipeline.compact_text` makes it).
    """
    n = len(frame)
    area = _col(frame, "area_m2")
    cos_pb = _col(frame, "cos_pb")
    tipo = escenario["tipo"]
    # the reason of each lot as a code into ``reasons`` (-1: none), a later reason replacing an earlier one:
    # no string is stored per lot
    problem = np.full(n, -1, dtype=np.intp)
    reasons: list[str] = []

    def mark(where: npt.NDArray[np.bool_], reason: str) -> None:
        problem[where] = len(reasons)
        reasons.append(reason)

    if tipo == "pugs_maxima":
        by_cos = (_col(frame, "cos_total_maximo") - _col(frame, "cos_total_basico")) / 100.0 * area
        by_floors = (_col(frame, "pisos_maximos") - _col(frame, "pisos_basicos")) * cos_pb / 100.0 * area
        ae = np.where(np.isfinite(by_cos), by_cos, by_floors)
        mark(ae < 0, "edificabilidad máxima menor que la básica en el PIT")
        mark(~np.isfinite(ae), "sin edificabilidad máxima/básica en el PIT (cos_total_* o pisos_* y cos_pb)")
    elif tipo in ("zuae", "ecoeficiencia"):
        if tipo == "zuae":
            pisos = float(min(int(escenario["pisos"]), int(rules["umbrales"]["pisos_max_zuae"])))
            eleg = frame["elegible_zuae"].astype("boolean")
            floors = np.full(n, pisos)
            label = "ZUAE"
        else:
            eleg = frame["elegible_ecoeficiencia"].astype("boolean")
            floors = (
                frame["pisos_adicionales_max"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            )
            label = "eco-eficiencia"
        yes = eleg.fillna(False).to_numpy(dtype=bool)
        unknown = eleg.isna().to_numpy()
        ae = np.where(yes, floors * cos_pb / 100.0 * area, 0.0)
        mark(yes & ~np.isfinite(cos_pb), "sin COS PB en el PIT")
        mark(unknown, f"elegibilidad {label} sin dato")
    else:  # the rules loader already refuses unknown types
        raise ValueError(f"tipo de escenario desconocido: {tipo!r}")
    mark(~np.isfinite(area), "sin área del predio")
    # Ae is stated to the rules' precision (cm² by default) so the figure printed for a lot is the figure
    # priced: `quitogeo calc --ae <printed Ae>` gives the same cents (a float product like 5.6 × 480.73 would
    # otherwise carry 2692.0879999999997 into the calc core).
    decimals = int(rules["tolerancias"]["ae_decimales"])
    ae = np.where(problem < 0, np.round(ae, decimals), np.nan)
    return pd.DataFrame(
        {"ae_m2": ae.astype(np.float64), "ae_problema": labelled(problem, np.array(reasons, dtype=object))},
        index=frame.index,
    )


__all__ = ["area_excedente"]
