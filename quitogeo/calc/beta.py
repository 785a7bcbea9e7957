"""β, the coeficiente de ponderación de pago (Anexo 01 §1, Tabla 1; normativa.md §1).

Row (AIVA band) and column (IC band) are closed as the rules file says (READING of the text's "≤120",
"121–499", "≥500"; with the packaged rules):

- row 1: AIVA ≤ 120; row 2: 120 < AIVA < 500; row 3: AIVA ≥ 500;
- column 1: IC < 1; column 2: 1 ≤ IC ≤ 2; column 3: IC > 2.

IC = Ae / área del terreno según escritura (TEXT). The IC band is decided by comparing Ae with
``límite × área`` (no division), so a band edge is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from quitogeo.calc.money import Number, exact_context, to_decimal
from quitogeo.calc.params import CalcParams, calc_params
from quitogeo.errors import CalcInputError
from quitogeo.rules import Rules

_RULE = "Anexo 01 §1, Tabla 1"


@dataclass(frozen=True)
class BetaResult:
    """β and the cell of Tabla 1 it came from.

    Attributes
    ----------
    beta : Decimal
        The coefficient.
    fila : int
        AIVA band, 1–3.
    columna : int
        IC band, 1–3.
    """

    beta: Decimal
    fila: int
    columna: int


def aiva_row(aiva: Decimal, params: CalcParams) -> int:
    """Return the band row of an AIVA ($/m²): ≤ l1 → 1; l1 < AIVA < l2 → 2; ≥ l2 → 3 (TEXT + READING)."""
    lo, hi = params.aiva_limites
    if aiva <= lo:
        return 1
    if aiva < hi:
        return 2
    return 3


def ic_column_from_ae(ae: Decimal, area_terreno: Decimal, params: CalcParams) -> int:
    """Band column 1–3 of IC = Ae / área without dividing: IC < l1 ⇔ Ae < l1 × área (TEXT + READING)."""
    lo, hi = params.ic_limites
    if ae < lo * area_terreno:
        return 1
    if ae <= hi * area_terreno:
        return 2
    return 3


def ic_column(ic: Decimal, params: CalcParams) -> int:
    """Band column 1–3 of an IC value: < l1 → 1; l1 ≤ IC ≤ l2 → 2; > l2 → 3 (TEXT + READING)."""
    lo, hi = params.ic_limites
    if ic < lo:
        return 1
    if ic <= hi:
        return 2
    return 3


def beta_lookup(aiva: Number, ic: Number, *, rules: Rules) -> BetaResult:
    """β of Anexo 01 Tabla 1 for an AIVA value and an IC (status TEXT; band closure READING, normativa §1).

    Parameters
    ----------
    aiva : Decimal, int, float or str
        The lot's highest AIVA value, $/m² (TEXT: with several AIVA, the highest).
    ic : Decimal, int, float or str
        Índice de construcción IC = Ae / área (Anexo 01 Tabla 1) del terreno según escritura; 0 for ámbitos
        without Ae (READING).
    rules : Rules
        Source of the table and its band limits.

    Returns
    -------
    BetaResult

    Raises
    ------
    CalcInputError
        When AIVA or IC is negative or not a finite number.

    Examples
    --------
    >>> from quitogeo.rules import load_rules
    >>> beta_lookup(450, "0.75", rules=load_rules())
    BetaResult(beta=Decimal('0.22'), fila=2, columna=1)
    """
    params = calc_params(rules)
    a = non_negative(aiva, "aiva", rule=_RULE)
    i = non_negative(ic, "ic", rule=_RULE)
    return beta_cell(aiva_row(a, params), ic_column(i, params), params)


def beta_cell(fila: int, columna: int, params: CalcParams) -> BetaResult:
    """β of row ``fila`` and column ``columna`` (1-based) of the rules' Tabla 1."""
    return BetaResult(beta=params.beta_tabla[fila - 1][columna - 1], fila=fila, columna=columna)


def non_negative(value: Number, name: str, *, rule: str) -> Decimal:
    """``value`` as an exact Decimal that must be ≥ 0 (normativa §2 "Money": negatives are errors)."""
    with exact_context():
        d = to_decimal(value, name, rule=rule)
    if d < 0:
        raise CalcInputError(
            f"{name} = {value} no puede ser negativo ({rule}); indique un valor ≥ 0",
            parameter=name,
            rule=rule,
        )
    return d


def beta_bands(
    aiva: npt.NDArray[np.float64],
    ae: npt.NDArray[np.float64] | None,
    area_terreno: npt.NDArray[np.float64] | None,
    params: CalcParams,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """Vectorised band row and column (1-based) of Tabla 1, with IC band edges resolved exactly.

    Float comparisons of AIVA with the limits are exact (shortest-repr decimals order like their floats). The
    IC comparison ``Ae ⋚ límite × área`` rounds ``límite × área``; rows within a relative 1e-12 of an edge
    are decided again with the scalar form's exact Decimal comparison, so ``near_edge`` is all False (kept in
    the signature for callers that combine it with their own flags).

    Parameters
    ----------
    aiva : ndarray of float64
        Highest AIVA per lot.
    ae, area_terreno : ndarray of float64 or None
        Área útil excedente and lot area; None for ámbitos without Ae (IC = ``beta.ic_sin_ae``).
    params : CalcParams
        Limits from the rules.

    Returns
    -------
    fila, columna : ndarray of int8
    near_edge : ndarray of bool
    """
    lo, hi = (float(x) for x in params.aiva_limites)
    fila = (1 + (aiva > lo) + (aiva >= hi)).astype(np.int8)
    if ae is None or area_terreno is None:
        col = ic_column(params.ic_sin_ae, params)
        columna = np.full(aiva.shape, col, dtype=np.int8)
        return fila, columna, np.zeros(aiva.shape, dtype=bool)
    ic_lo, ic_hi = (float(x) for x in params.ic_limites)
    edge_lo = ic_lo * area_terreno
    edge_hi = ic_hi * area_terreno
    columna = (1 + (ae >= edge_lo) + (ae > edge_hi)).astype(np.int8)
    with np.errstate(invalid="ignore"):
        near = (np.abs(ae - edge_lo) <= 1e-12 * np.maximum(ae, edge_lo)) | (
            np.abs(ae - edge_hi) <= 1e-12 * np.maximum(ae, edge_hi)
        )
        # With a limit of exactly 1, ``Ae == área`` in floats means equal reprs, hence equal Decimals: the
        # float decision is already the exact one. Scenarios often give IC exactly 1 (ΔCOS = 100 %), so this
        # keeps a quarter of a district's lots off the slow path.
        if ic_lo == 1.0:
            near &= ae != edge_lo
        if ic_hi == 1.0:
            near &= ae != edge_hi
    rows = np.flatnonzero(near)
    if rows.size:
        rows = _resolve_cent_edges(rows, ae, area_terreno, columna, params)
    # Resolve the remaining edge rows here with the exact comparison of the scalar form (two Decimals a row,
    # a few µs) instead of sending them through the whole scalar path; their cents are checked by the caller.
    for i in rows:
        columna[i] = ic_column_from_ae(
            Decimal(repr(float(ae[i]))), Decimal(repr(float(area_terreno[i]))), params
        )
    return fila, columna, np.zeros(aiva.shape, dtype=bool)


#: Largest magnitude for which a float equal to ``n / 100`` (n integer) has exactly that value as its
#: shortest decimal spelling: below it, the float spacing is far under 0.01, so only one number with at most
#: two decimals lies in a float's rounding interval, and ``repr`` (the shortest one) is that number.
_CENT_EXACT_MAX = 1e9


def _resolve_cent_edges(
    rows: npt.NDArray[np.intp],
    ae: npt.NDArray[np.float64],
    area_terreno: npt.NDArray[np.float64],
    columna: npt.NDArray[np.int8],
    params: CalcParams,
) -> npt.NDArray[np.intp]:
    """Decide, in integers, the IC column of edge rows whose Ae and área are whole cents (m² to 0.01).

    For such a float x, ``Decimal(repr(x))`` is exactly ``round(100 x) / 100`` (see
    :data:`_CENT_EXACT_MAX`), so the scalar form's ``Ae ⋚ límite × área`` is an exact comparison of the
    integers ``100 Ae × 10^q`` and ``p × 100 área`` with ``límite = p / 10^q``. Ae is stated to cm² by the
    scenarios and deed areas come with two decimals, so this settles nearly every edge row. Writes into
    ``columna`` and returns the rows still to decide with Decimals.
    """
    limits = []
    for lim in params.ic_limites:
        sign, _digits, exponent = Decimal(lim).normalize().as_tuple()
        q = max(0, -int(exponent))
        p = int(Decimal(lim).scaleb(q))
        if sign or q > 6 or p >= 10**6:
            return rows  # an unusual limit: leave every row to the exact Decimal comparison
        limits.append((p, q))
    a = ae[rows]
    t = area_terreno[rows]
    with np.errstate(invalid="ignore"):
        a100 = np.round(a * 100.0)
        t100 = np.round(t * 100.0)
        cents = (
            (a100 / 100.0 == a)
            & (t100 / 100.0 == t)
            & (np.abs(a) < _CENT_EXACT_MAX)
            & (np.abs(t) < _CENT_EXACT_MAX)
        )
    ai = np.where(cents, a100, 0).astype(np.int64)
    ti = np.where(cents, t100, 0).astype(np.int64)
    (p_lo, q_lo), (p_hi, q_hi) = limits
    # column 1: Ae < l1 × área; 2: Ae ≤ l2 × área; else 3 (ic_column_from_ae), scaled by 10^q on both sides
    below = ai * 10**q_lo < p_lo * ti
    within = ai * 10**q_hi <= p_hi * ti
    exact = np.where(below, 1, np.where(within, 2, 3)).astype(np.int8)
    columna[rows[cents]] = exact[cents]
    return rows[~cents]


__all__ = [
    "BetaResult",
    "aiva_row",
    "beta_bands",
    "beta_cell",
    "beta_lookup",
    "ic_column",
    "ic_column_from_ae",
]
