"""The COD over a DataFrame of lots: the cents of :func:`~quitogeo.calc.cod.compute_cod`, ≥ 1 M lots/s.

How the cents stay exact (normativa §2 "Money"): the formulas (the same ``formula_*`` functions as the scalar
form) run in float64, whose relative error on these few products is ~1e-15. Rounding half-up to cents can only
differ from the exact Decimal result when the unrounded cents lie within that error of a ``.5`` boundary, or
when a band edge (IC = 1 or 2, VIS = 20 %) is within it. Those rows — a handful in a million — are
recomputed one by one with the exact scalar path on ``Decimal(repr(x))`` of their float inputs, which is the
contract of the scalar form for floats. The flagging window is a relative 1e-12 (hundreds of times the float
error).

Invalid rows are never silently zero: a row with a missing (NaN), negative or non-finite needed value, α
outside the rules' range, a zero lot area, etc. gets ``valido = False``, ``motivo_calc`` saying which
parameter and rule, and NaN/<NA> in every money column. ``estricto=True`` raises.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quitogeo.calc.beta import aiva_row, beta_bands, beta_cell, ic_column, ic_column_from_ae
from quitogeo.calc.cod import (
    compute_cod_params,
    formula_edificabilidad,
    formula_edificabilidad_lote_minimo,
    formula_edificabilidad_uso,
    formula_lote_minimo,
    formula_uso,
    ir_efectivo,
)
from quitogeo.calc.money import exact_context, round_cents
from quitogeo.calc.params import AMBITOS, AMBITOS_CON_AE, CalcParams, calc_params
from quitogeo.errors import CalcInputError
from quitogeo.rules import Rules

F64 = npt.NDArray[np.float64]

#: Input columns the vectorised form understands (float64, NaN where not applicable).
INPUT_COLUMNS = (
    "alfa",
    "vc",
    "fu",
    "ae",
    "area_terreno",
    "aiva",
    "ir",
    "auv",
    "vsa",
    "vs_c",
    "vis",
    "area_util_proyecto",
)

#: Output columns, in order.
OUTPUT_COLUMNS = (
    "valido",
    "motivo_calc",
    "ic",
    "beta",
    "beta_fila",
    "beta_columna",
    "vs",
    "cod",
    "cod_centavos",
    "exoneracion",
    "cod_exonerado",
    "cod_exonerado_centavos",
)

#: Relative window around a rounding boundary or band edge inside which a row is recomputed exactly.
EXACT_WINDOW = 1e-12


def needed_columns(ambito: str, *, beneficio: bool = False) -> tuple[str, ...]:
    """List the input columns an ámbito needs (normativa §2), in the order they are checked.

    Parameters
    ----------
    ambito : str
        One of :data:`~quitogeo.calc.params.AMBITOS`.
    beneficio : bool, default False
        Beneficios do not need ``aiva`` (no β).

    Returns
    -------
    tuple of str
    """
    cols: list[str] = []
    if ambito == "uso":
        cols += ["vs_c", "ir", "auv"]
    elif ambito == "lote-minimo":
        cols += ["vsa", "ir"]
    else:
        cols += ["alfa", "vc", "fu", "ae", "area_terreno"]
        if ambito != "edificabilidad":
            cols += ["ir", "auv"]
    if not beneficio:
        cols.append("aiva")
    return tuple(cols)


def _column(frame: pd.DataFrame, name: str) -> F64:
    try:
        return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise CalcInputError(
            f"la columna '{name}' no es numérica ({exc}); conviértala a float64", parameter=name
        ) from exc


def cod_frame(
    frame: pd.DataFrame,
    *,
    ambito: str,
    rules: Rules,
    beneficio: bool = False,
    estricto: bool = False,
) -> pd.DataFrame:
    """Compute the COD of every row of ``frame`` (vectorised ``compute_cod``; Anexo 01 §1–2, §4–5).

    Formulas and statuses as in :func:`~quitogeo.calc.cod.compute_cod` (one ``formula_*`` function per ámbito,
    shared). For ``uso`` the land value comes in column ``vs_c`` (α × Vcc or avalúo / área, from upstream).
    The VIS exoneration (§4.1) is applied on rows where ``vis`` is not NaN (then ``area_util_proyecto`` is
    required); ``vis`` must be NaN for ámbitos without Ae.

    Parameters
    ----------
    frame : DataFrame
        One row per lot, float64 columns among ``alfa, vc, fu, ae, area_terreno, aiva, ir, auv, vsa, vs_c,
        vis, area_util_proyecto``; only those the ámbito needs must be present (see :func:`needed_columns`).
        Other columns are ignored.
    ambito : str
        ``uso``, ``edificabilidad``, ``lote-minimo``, ``edificabilidad-uso``, ``edificabilidad-lote-minimo``.
    rules : Rules
        Rules in force (β table, α range, IR switch, VIS threshold).
    beneficio : bool, default False
        Planes parciales / UAU: β = 1 (§5.1).
    estricto : bool, default False
        Raise :class:`~quitogeo.errors.CalcInputError` on the first invalid row instead of marking it.

    Returns
    -------
    DataFrame
        Aligned to ``frame.index``: ``valido`` (bool), ``motivo_calc`` (categorical, "" when valid), ``ic``,
        ``beta`` (float64), ``beta_fila``/``beta_columna`` (Int64), ``vs`` (NaN for ``lote-minimo``),
        ``cod`` (float64 = cents / 100), ``cod_centavos`` (Int64), ``exoneracion`` (min(Ex, 1); 0 if no VIS),
        ``cod_exonerado`` and ``cod_exonerado_centavos``. Invalid rows have NaN / <NA> money.

    Raises
    ------
    CalcInputError
        Unknown ámbito, a needed column absent, or (``estricto``) an invalid row.

    Examples
    --------
    >>> import pandas as pd
    >>> from quitogeo.rules import load_rules
    >>> lots = pd.DataFrame({"alfa": [0.12], "vc": [500.0], "fu": [1.0], "ae": [300.0],
    ...                      "area_terreno": [400.0], "aiva": [450.0]})
    >>> cod_frame(lots, ambito="edificabilidad", rules=load_rules())["cod_centavos"].tolist()
    [396000]
    """
    if ambito not in AMBITOS:
        raise CalcInputError(
            f"ámbito {ambito!r} desconocido; use uno de: {', '.join(AMBITOS)}", parameter="ambito"
        )
    params = calc_params(rules)
    needed = needed_columns(ambito, beneficio=beneficio)
    for name in needed:
        if name not in frame.columns:
            raise CalcInputError(
                f"falta la columna '{name}' para el ámbito {ambito} (necesarias: {', '.join(needed)})",
                parameter=name,
            )
    has_vis = "vis" in frame.columns
    if has_vis and "area_util_proyecto" not in frame.columns:
        raise CalcInputError(
            "la columna 'vis' requiere 'area_util_proyecto' (Anexo 01 §4.1: VIS ≥ 20 % del área útil del "
            "proyecto)",
            parameter="area_util_proyecto",
        )
    n = len(frame)
    cols: dict[str, F64] = {name: _column(frame, name) for name in needed}
    if beneficio and "aiva" in frame.columns:
        cols["aiva"] = _column(frame, "aiva")
    vis = _column(frame, "vis") if has_vis else np.full(n, np.nan)
    total = _column(frame, "area_util_proyecto") if has_vis else np.full(n, np.nan)
    has_ae = ambito in AMBITOS_CON_AE

    # --- validity: the first failing check names the row's motivo ---------------------------------------
    reasons: list[str] = [""]
    reason_param: list[str | None] = [None]
    code = np.zeros(n, dtype=np.int16)

    def flag(mask: npt.NDArray[np.bool_], text: str, param: str) -> None:
        reasons.append(text)
        reason_param.append(param)
        code[(code == 0) & mask] = len(reasons) - 1

    with np.errstate(invalid="ignore"):
        for name in needed:
            x = cols[name]
            flag(np.isnan(x), f"falta {name} (NaN) para el ámbito {ambito}", name)
            flag(np.isinf(x), f"{name} no es un número finito", name)
            flag(x < 0, f"{name} negativo: debe ser ≥ 0", name)
        if "alfa" in cols:
            lo, hi = float(params.alfa_min), float(params.alfa_max)
            flag(
                (cols["alfa"] < lo) | (cols["alfa"] > hi),
                f"alfa fuera de {params.alfa_rango} (Anexo 01 §2.1 y §2.2.1)",
                "alfa",
            )
        if has_ae:
            flag(
                cols["area_terreno"] == 0,
                "area_terreno = 0: IC = Ae / área no está definido (Anexo 01 §1)",
                "area_terreno",
            )
        if "ir" in cols and params.ir_interpretacion == "multiplicador":
            flag(cols["ir"] < 1, "ir < 1 con ir.interpretacion = 'multiplicador' (IR − 1 negativo)", "ir")
        if beneficio and "aiva" in cols:
            flag(np.isinf(cols["aiva"]) | (cols["aiva"] < 0), "aiva negativo o no finito", "aiva")
        asks_vis = ~np.isnan(vis)
        if not has_ae or ambito not in params.vis_ambitos:
            flag(
                asks_vis,
                f"exoneración VIS no aplica al ámbito {ambito} (Ex = VIS / Ae, Anexo 01 §4.1)",
                "vis",
            )
        flag(asks_vis & (np.isinf(vis) | (vis < 0)), "vis negativo o no finito", "vis")
        flag(
            asks_vis & np.isnan(total),
            "falta area_util_proyecto para la exoneración VIS (Anexo 01 §4.1)",
            "area_util_proyecto",
        )
        flag(
            asks_vis & (np.isinf(total) | (total < 0)),
            "area_util_proyecto negativo o no finito",
            "area_util_proyecto",
        )
        flag(asks_vis & (total == 0), "area_util_proyecto = 0 (Anexo 01 §4.1)", "area_util_proyecto")
        flag(asks_vis & (vis > total), "vis mayor que area_util_proyecto (Anexo 01 §4.1)", "vis")
    valid = code == 0
    if estricto and not valid.all():
        first = int(np.flatnonzero(~valid)[0])
        raise CalcInputError(
            f"fila {frame.index[first]!r} ({int((~valid).sum())} filas inválidas): {reasons[code[first]]}",
            parameter=reason_param[code[first]],
        )

    # --- the float computation -----------------------------------------------------------------------------
    with np.errstate(all="ignore"):
        aiva = cols.get("aiva", np.full(n, np.nan))
        ae = cols.get("ae")
        area = cols.get("area_terreno")
        fila, columna, near_ic = beta_bands(aiva, ae if has_ae else None, area if has_ae else None, params)
        tabla = np.array([[float(b) for b in row] for row in params.beta_tabla])
        fi = np.clip(fila, 1, 3) - 1
        co = np.clip(columna, 1, 3) - 1
        beta = np.ones(n) if beneficio else tabla[fi, co]
        ir = ir_efectivo(cols["ir"], params.ir_interpretacion) if "ir" in cols else None
        vs: F64
        if ambito == "uso":
            assert ir is not None
            vs = cols["vs_c"]
            cod = formula_uso(vs, ir, cols["auv"], beta)
        elif ambito == "lote-minimo":
            assert ir is not None
            vs = np.full(n, np.nan)
            cod = formula_lote_minimo(cols["vsa"], ir, beta)
        else:
            assert ae is not None
            vs = cols["alfa"] * cols["vc"] * cols["fu"]
            if ambito == "edificabilidad":
                cod = formula_edificabilidad(vs, ae, beta)
            elif ambito == "edificabilidad-uso":
                assert ir is not None
                cod = formula_edificabilidad_uso(vs, ae, ir, cols["auv"], beta)
            else:
                assert ir is not None
                cod = formula_edificabilidad_lote_minimo(vs, ae, ir, cols["auv"], beta)
        ic = (
            ae / area
            if has_ae and ae is not None and area is not None
            else np.full(n, float(params.ic_sin_ae))
        )

        # VIS exoneration (§4.1): threshold compared without dividing; Ex ≥ 1 (or Ae = 0) → total.
        umbral = float(params.vis_fraccion_min)
        aplica = asks_vis & (vis >= umbral * total)
        near_vis = asks_vis & (np.abs(vis - umbral * total) <= EXACT_WINDOW * np.maximum(vis, umbral * total))
        if has_ae and ae is not None:
            total_ex = aplica & (vis >= ae)
            frac = np.where(aplica, np.where(total_ex, 1.0, vis / ae), 0.0)
            # (Ae − VIS) / Ae keeps the factor accurate when VIS is close to Ae.
            factor = np.where(aplica, np.where(total_ex, 0.0, (ae - vis) / ae), 1.0)
        else:
            frac = np.zeros(n)
            factor = np.ones(n)
        cod_ex = cod * factor

        cents_f = cod * 100.0
        cents_ex_f = cod_ex * 100.0
        window = EXACT_WINDOW * cents_f
        near = (np.abs(cents_f - np.floor(cents_f) - 0.5) <= window) | (
            np.abs(cents_ex_f - np.floor(cents_ex_f) - 0.5) <= window
        )
        cents = np.floor(cents_f + 0.5)
        cents_ex = np.floor(cents_ex_f + 0.5)

    exact_rows = np.flatnonzero(valid & (near | near_ic | near_vis))
    fila = fila.astype(np.int64)
    columna = columna.astype(np.int64)
    if exact_rows.size:
        _recompute_exact(
            exact_rows,
            ambito,
            params,
            beneficio,
            cols,
            vis,
            total,
            out=(cents, cents_ex, beta, fila, columna, frac),
        )

    # --- assemble -----------------------------------------------------------------------------------------
    invalid = ~valid
    cents[invalid] = 0
    cents_ex[invalid] = 0
    cod_cents = pd.arrays.IntegerArray(cents.astype(np.int64), invalid.copy())
    ex_cents = pd.arrays.IntegerArray(cents_ex.astype(np.int64), invalid.copy())
    no_band = invalid | (np.isnan(aiva) if beneficio else np.zeros(n, dtype=bool))
    out = pd.DataFrame(
        {
            "valido": valid,
            "motivo_calc": pd.Categorical.from_codes(code, categories=pd.Index(_unique(reasons))),
            "ic": np.where(valid, ic, np.nan),
            "beta": np.where(valid, beta, np.nan),
            "beta_fila": pd.arrays.IntegerArray(fila, no_band.copy()),
            "beta_columna": pd.arrays.IntegerArray(columna, no_band.copy()),
            "vs": np.where(valid, vs, np.nan),
            "cod": np.where(valid, cents / 100.0, np.nan),
            "cod_centavos": cod_cents,
            "exoneracion": np.where(valid, frac, np.nan),
            "cod_exonerado": np.where(valid, cents_ex / 100.0, np.nan),
            "cod_exonerado_centavos": ex_cents,
        },
        index=frame.index,
    )
    return out


def _unique(reasons: list[str]) -> list[str]:
    """Categories must be unique: suffix repeated texts (identical checks can repeat across parameters)."""
    seen: dict[str, int] = {}
    out = []
    for r in reasons:
        k = seen.get(r, 0)
        out.append(r if k == 0 else f"{r} ({k})")
        seen[r] = k + 1
    return out


def _recompute_exact(
    rows: npt.NDArray[np.intp],
    ambito: str,
    params: CalcParams,
    beneficio: bool,
    cols: dict[str, F64],
    vis: F64,
    total: F64,
    *,
    out: tuple[npt.NDArray[Any], ...],
) -> None:
    """Recompute ``rows`` with the exact scalar path and write the results into the ``out`` arrays in place.

    Only rows near a rounding boundary or a band edge get here (a few per million): a Python loop over them is
    cheap, and it is what makes the vectorised cents equal to the scalar cents.
    """
    cents, cents_ex, beta, fila, columna, frac = out
    formula = _EXACT_FORMULAS[ambito]
    has_ae = ambito in AMBITOS_CON_AE
    aiva = cols.get("aiva")
    for i in rows:
        if not np.isnan(vis[i]):
            # the VIS exoneration has its own exact branch: the whole scalar path (rarer still)
            given: dict[str, Any] = {
                name: float(arr[i]) for name, arr in cols.items() if not np.isnan(arr[i])
            }
            given["vis"] = float(vis[i])
            given["area_util_proyecto"] = float(total[i])
            res = compute_cod_params(ambito, params=params, given=given, beneficio=beneficio)
            cents[i] = float(res.cod * 100)
            cents_ex[i] = float(res.cod_exonerado * 100)
            beta[i] = float(res.beta)
            if res.beta_fila is not None and res.beta_columna is not None:
                fila[i] = res.beta_fila
                columna[i] = res.beta_columna
            frac[i] = float(res.exoneracion.fraccion)
            continue
        # A valid row without VIS: the scalar path's arithmetic without its checks (the vectorised checks
        # already passed): every input as Decimal(repr(float)), the same shared formula, half-up to cents.
        d = {name: Decimal(repr(float(arr[i]))) for name, arr in cols.items() if name != "aiva"}
        with exact_context():
            if has_ae:
                col = ic_column_from_ae(d["ae"], d["area_terreno"], params)
            else:
                col = ic_column(params.ic_sin_ae, params)
            b: Decimal = Decimal(1)
            if aiva is not None and not np.isnan(aiva[i]):
                cell = beta_cell(aiva_row(Decimal(repr(float(aiva[i]))), params), col, params)
                fila[i] = cell.fila
                columna[i] = cell.columna
                if not beneficio:
                    b = cell.beta
            if "ir" in d:
                d["ir"] = ir_efectivo(d["ir"], params.ir_interpretacion)
            cod = round_cents(formula(d, b))
        cents[i] = cents_ex[i] = float(cod * 100)
        beta[i] = float(b)
        frac[i] = 0.0


def _vs(d: dict[str, Decimal]) -> Decimal:
    return d["alfa"] * d["vc"] * d["fu"]


#: The shared formulas over a row's Decimal inputs (``ir`` already effective) and β, per ámbito.
_EXACT_FORMULAS: dict[str, Callable[[dict[str, Decimal], Decimal], Decimal]] = {
    "uso": lambda d, b: formula_uso(d["vs_c"], d["ir"], d["auv"], b),
    "edificabilidad": lambda d, b: formula_edificabilidad(_vs(d), d["ae"], b),
    "lote-minimo": lambda d, b: formula_lote_minimo(d["vsa"], d["ir"], b),
    "edificabilidad-uso": lambda d, b: formula_edificabilidad_uso(_vs(d), d["ae"], d["ir"], d["auv"], b),
    "edificabilidad-lote-minimo": lambda d, b: formula_edificabilidad_lote_minimo(
        _vs(d), d["ae"], d["ir"], d["auv"], b
    ),
}


def mayor_frame(uso: pd.DataFrame, lote_minimo: pd.DataFrame) -> pd.DataFrame:
    """Apply the larger-of rule (Anexo 01 §2.3.3; TEXT) row by row to two :func:`cod_frame` results.

    Parameters
    ----------
    uso, lote_minimo : DataFrame
        ``cod_frame(..., ambito="uso")`` and ``cod_frame(..., ambito="lote-minimo")`` of the same lots (same
        index).

    Returns
    -------
    DataFrame
        The winning row's columns plus ``ambito_ganador`` (``"uso"``/``"lote-minimo"``; ties in cents go to
        ``uso``, as :func:`~quitogeo.calc.cod.cod_mayor`). A row is valid only if both computations are.
    """
    if not uso.index.equals(lote_minimo.index):
        raise CalcInputError(
            "la regla del mayor (Anexo 01 §2.3.3) necesita los mismos predios en ambos ámbitos"
        )
    both = uso["valido"].to_numpy(bool) & lote_minimo["valido"].to_numpy(bool)
    lm_wins = both & (
        lote_minimo["cod_centavos"].fillna(0).to_numpy(np.int64)
        > uso["cod_centavos"].fillna(0).to_numpy(np.int64)
    )
    out = uso.copy()
    for col in uso.columns:
        if col in ("valido", "motivo_calc"):
            continue
        out[col] = uso[col].where(~lm_wins, lote_minimo[col])
    out["valido"] = both
    motivo = uso["motivo_calc"].astype(str).where(~uso["valido"], lote_minimo["motivo_calc"].astype(str))
    out["motivo_calc"] = motivo
    out["ambito_ganador"] = np.where(lm_wins, "lote-minimo", "uso")
    out.loc[~both, "ambito_ganador"] = None
    return out


__all__ = ["EXACT_WINDOW", "INPUT_COLUMNS", "OUTPUT_COLUMNS", "cod_frame", "mayor_frame", "needed_columns"]
